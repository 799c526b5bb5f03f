//! Profiles made in memory for unit tests: the bytes Go would serve, built with the
//! profile.proto types, so rules are tested on what the decoder really reads.

use prost::Message;

use super::proto;

/// A profile of `samples` samples, each of value `values` in one function `function`, with
/// the two sample types `types` (`(type, unit)`), and the period of the second type when
/// `period` is given (as a CPU profile has).
pub(crate) fn one_function(
    types: [(&str, &str); 2],
    function: &str,
    samples: usize,
    values: [i64; 2],
    period: Option<i64>,
) -> Vec<u8> {
    let [(t1, u1), (t2, u2)] = types;
    let strings = ["", t1, u1, t2, u2, function];
    let p = proto::Profile {
        sample_type: vec![
            proto::ValueType { r#type: 1, unit: 2 },
            proto::ValueType { r#type: 3, unit: 4 },
        ],
        sample: (0..samples)
            .map(|_| proto::Sample {
                location_id: vec![1],
                value: values.to_vec(),
                label: vec![],
            })
            .collect(),
        location: vec![proto::Location {
            id: 1,
            line: vec![proto::Line {
                function_id: 1,
                ..Default::default()
            }],
            ..Default::default()
        }],
        function: vec![proto::Function {
            id: 1,
            name: 5,
            system_name: 5,
            ..Default::default()
        }],
        string_table: strings.iter().map(|s| s.as_bytes().to_vec()).collect(),
        period_type: period.map(|_| proto::ValueType { r#type: 3, unit: 4 }),
        period: period.unwrap_or(0),
        ..Default::default()
    };
    p.encode_to_vec()
}
