//! The mechanics of reading profile.proto bytes: gunzip with a hard cap, a cheap estimate
//! of the decoded size (so that a small hostile file cannot exhaust memory), and a prost
//! decoder that streams the samples into [`Samples`] instead of a message each.

use std::io::{Read, Write};

use prost::Message;

use super::profile::ProfileError;
use super::proto;
use super::samples::Samples;

/// What prost decodes into: the derived [`proto::Profile`] for every field but the
/// samples, which go straight into [`Samples`] through one reused message instead of a
/// heap-allocated message each. Decode-only: it never encodes anything.
#[derive(Debug)]
pub(super) struct Decoder {
    pub(super) rest: proto::Profile,
    scratch: proto::Sample,
    pub(super) samples: Samples,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            rest: proto::Profile::default(),
            scratch: proto::Sample::default(),
            samples: Samples::new(),
        }
    }
}

impl Message for Decoder {
    fn encode_raw(&self, _buf: &mut impl prost::bytes::BufMut) {}

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: prost::encoding::WireType,
        buf: &mut impl prost::bytes::Buf,
        ctx: prost::encoding::DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        if tag == 2 {
            self.scratch.clear();
            prost::encoding::message::merge(wire_type, &mut self.scratch, buf, ctx)?;
            self.samples.push(&self.scratch);
            Ok(())
        } else {
            self.rest.merge_field(tag, wire_type, buf, ctx)
        }
    }

    fn encoded_len(&self) -> usize {
        0
    }

    fn clear(&mut self) {
        *self = Decoder::default();
    }
}

/// Gunzips (all members, as Go's gzip reader does) and stops at `limit` bytes.
pub(super) fn gunzip(data: &[u8], limit: usize) -> Result<Vec<u8>, ProfileError> {
    // The trailer's ISIZE (size mod 2^32 of the last member) is a good first guess for a
    // normal profile; never trusted beyond the cap.
    let hint = data
        .len()
        .checked_sub(4)
        .and_then(|at| data.get(at..))
        .map(|t| u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as usize)
        .unwrap_or(0)
        .min(limit)
        .min(data.len().saturating_mul(64));
    let mut out = Vec::with_capacity(hint.saturating_add(1));
    gunzip_into(data, limit as u64, &mut out)?;
    Ok(out)
}

/// The one capped gunzip: expands `data` (all members, as Go's gzip reader does) into `out`
/// and returns the length, refusing to write past `limit` bytes — so a gzip bomb stops there.
/// Profiles are decoded through it; a scraped profile is measured with [`std::io::sink`].
pub fn gunzip_into(data: &[u8], limit: u64, out: &mut impl Write) -> Result<u64, ProfileError> {
    let mut decoder = flate2::read::MultiGzDecoder::new(data).take(limit.saturating_add(1));
    let n = std::io::copy(&mut decoder, out).map_err(|e| ProfileError::Gzip(e.to_string()))?;
    if n > limit {
        return Err(ProfileError::TooLarge {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
        });
    }
    Ok(n)
}

/// A cheap pass over the top-level fields (no allocation) estimating the memory decoding
/// takes, so that a small file full of empty messages cannot exhaust memory: an empty
/// location costs 2 bytes on the wire and ~60 bytes decoded, a packed value 1 byte and 8.
/// Malformed framing is left for prost to report.
pub(super) fn estimate_decoded_size(mut data: &[u8]) -> usize {
    let mut estimate = 0usize;
    while !data.is_empty() {
        let Some((key, rest)) = varint(data) else {
            break;
        };
        data = rest;
        let field = key >> 3;
        let len = match key & 7 {
            0 => match varint(data) {
                Some((_, rest)) => {
                    data = rest;
                    // An unpacked comment index.
                    estimate = estimate.saturating_add(if field == 13 { 8 } else { 0 });
                    continue;
                }
                None => break,
            },
            1 => 8,
            5 => 4,
            2 => match varint(data) {
                Some((len, rest)) => {
                    data = rest;
                    len
                }
                None => break,
            },
            _ => break,
        };
        let Some(len) = usize::try_from(len).ok().filter(|&l| l <= data.len()) else {
            break;
        };
        data = &data[len..];
        estimate = estimate.saturating_add(match field {
            1 | 11 => 16 + len.saturating_mul(8),
            2 => 16 + len.saturating_mul(8),
            4 => 64 + len.saturating_mul(16),
            3 => 96,
            5 => 48,
            6 => 24 + len,
            13 => len.saturating_mul(8),
            _ => 0,
        });
    }
    estimate
}

fn varint(data: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &b) in data.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, &data[i + 1..]));
        }
    }
    None
}
