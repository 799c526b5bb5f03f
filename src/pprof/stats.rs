//! The statistics behind the before/after comparisons (`runtime.cpu_regression`,
//! `runtime.alloc_regression`): how far a function's share of a sampled profile can move by
//! chance alone.
//!
//! A profile is a sample: the CPU profiler records about 100 stacks a second, the heap
//! profiler one allocation per 512 KiB on average. A function's share of `n` sampling events
//! is an estimate of a proportion, and two estimates from runs of the same code differ by
//! about `sqrt(p(1-p)(1/n₁+1/n₂))` — at 340 samples and a 30 % share, ±3.5 points for one
//! standard error. Comparisons are therefore judged on an interval for the difference of two
//! proportions, not on the difference itself.
//!
//! The interval is Agresti and Caffo's (2000): add one event and one non-event to each side,
//! then take the Wald interval. It keeps its coverage near the nominal level for small counts
//! and for shares of 0 (a function absent from the base), where the plain Wald interval
//! collapses to nothing. Many functions are compared at once, so the level of each one-sided
//! bound is Bonferroni's `1 - α/m`: the chance that *any* of the `m` functions is flagged by
//! noise alone stays below `α`.

/// The standard normal quantile: the `z` with `Φ(z) = p`, for `0 < p < 1`; `±∞` at the ends
/// and NaN outside. Acklam's rational approximation (relative error below 1.2e-9), enough for
/// confidence levels.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.02425;
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let tail = |q: f64| {
        let q = (-2.0 * q.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < LOW {
        tail(p)
    } else if p > 1.0 - LOW {
        -tail(1.0 - p)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The confidence every comparison is held to: the chance that noise alone flags any function
/// of a comparison stays below 1 %.
pub const CONFIDENCE: f64 = 0.99;

/// One side of a comparison: a share (percent) of `events` sampling events.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampled {
    /// The share, percent (0–100).
    pub share: f64,
    /// The sampling events the share is of.
    pub events: u64,
}

impl Sampled {
    /// Agresti–Caffo's adjusted proportion and its variance (as fractions, not percent).
    fn adjusted(self) -> (f64, f64) {
        let n = self.events as f64;
        let x = (self.share / 100.0).clamp(0.0, 1.0) * n;
        let p = (x + 1.0) / (n + 2.0);
        (p, p * (1.0 - p) / (n + 2.0))
    }

    /// The half-width, in points, of the two-sided interval at `confidence` for this share
    /// alone (what the message prints after `±`).
    pub fn margin(self, confidence: f64) -> f64 {
        let z = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
        z * self.adjusted().1.sqrt() * 100.0
    }
}

/// How sure a growth is: its lower bound, in points, at the one-sided level that keeps the
/// family-wise `confidence` over `compared` functions (Bonferroni).
pub fn growth_lower_bound(old: Sampled, new: Sampled, confidence: f64, compared: usize) -> f64 {
    let m = compared.max(1) as f64;
    let z = normal_quantile(1.0 - (1.0 - confidence) / m);
    let (p1, v1) = old.adjusted();
    let (p2, v2) = new.adjusted();
    ((p2 - p1) - z * (v1 + v2).sqrt()) * 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from Python's `statistics.NormalDist().inv_cdf` (an independent
    /// implementation, Wichura's AS241).
    #[test]
    fn normal_quantile_matches_an_independent_implementation() {
        for (p, z) in [
            (0.5, 0.0),
            (0.975, 1.959_963_984_540_053_6),
            (0.995, 2.575_829_303_548_9),
            (0.999, 3.090_232_306_167_813),
            (0.999_95, 3.890_591_886_413_12),
            (0.999_999, 4.753_424_308_817_089),
            (0.001, -3.090_232_306_167_813),
            (0.024_25, -1.972_961_051_311_884_5),
            (0.975_75, 1.972_961_051_311_884_7),
        ] {
            let got = normal_quantile(p);
            assert!((got - z).abs() < 1e-8, "p={p}: {got} vs {z}");
        }
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
        assert!(normal_quantile(1.5).is_nan() && normal_quantile(f64::NAN).is_nan());
    }

    /// The issue's case: the same code, 27.2 % → 37.2 % of 340/352 samples. Expected values
    /// computed apart, in Python with `statistics.NormalDist`: p̃₁ = (92.48+1)/342,
    /// p̃₂ = (130.94+1)/354, se = sqrt(p̃₁(1-p̃₁)/342 + p̃₂(1-p̃₂)/354); over 200 functions
    /// at 99 %, z = 3.8906 and the bound is -3.77 points. Far from a 10-point limit.
    #[test]
    fn the_issues_noise_is_not_a_growth() {
        let old = Sampled {
            share: 27.2,
            events: 340,
        };
        let new = Sampled {
            share: 37.2,
            events: 352,
        };
        let lb = growth_lower_bound(old, new, CONFIDENCE, 200);
        assert!((lb - -3.77).abs() < 0.01, "{lb}");
        // One function alone, at 99 % one-sided (z = 2.3263): 1.74 > 0, significant but
        // still under a limit of 10 points.
        let lb1 = growth_lower_bound(old, new, CONFIDENCE, 1);
        assert!((lb1 - 1.74).abs() < 0.01, "{lb1}");
        // The ± printed for each share: 2.5758 · sqrt(p̃(1-p̃)/(n+2)).
        assert!(
            (old.margin(CONFIDENCE) - 6.21).abs() < 0.01,
            "{}",
            old.margin(0.99)
        );
        assert!(
            (new.margin(CONFIDENCE) - 6.62).abs() < 0.01,
            "{}",
            new.margin(0.99)
        );
    }

    /// A planted hot function: absent from the base, 45 % of 350 samples now: p̃₁ = 1/342,
    /// p̃₂ = 158.5/352; over 200 functions the bound is 34.36 points (Python, as above).
    #[test]
    fn a_planted_hot_function_is_a_growth() {
        let old = Sampled {
            share: 0.0,
            events: 340,
        };
        let new = Sampled {
            share: 45.0,
            events: 350,
        };
        let lb = growth_lower_bound(old, new, CONFIDENCE, 200);
        assert!((lb - 34.36).abs() < 0.01, "{lb}");
    }

    /// More samples narrow the interval: the same 10-point growth is beyond noise at 20 000
    /// samples a side (bound 8.19 points, Python as above).
    #[test]
    fn more_samples_make_the_same_growth_certain() {
        let at = |n| {
            growth_lower_bound(
                Sampled {
                    share: 27.2,
                    events: n,
                },
                Sampled {
                    share: 37.2,
                    events: n,
                },
                CONFIDENCE,
                200,
            )
        };
        assert!(at(340) < 0.0);
        assert!((at(20_000) - 8.19).abs() < 0.01, "{}", at(20_000));
        // Bonferroni: more functions compared, a lower bound.
        let few = growth_lower_bound(
            Sampled {
                share: 10.0,
                events: 1000,
            },
            Sampled {
                share: 20.0,
                events: 1000,
            },
            CONFIDENCE,
            1,
        );
        let many = growth_lower_bound(
            Sampled {
                share: 10.0,
                events: 1000,
            },
            Sampled {
                share: 20.0,
                events: 1000,
            },
            CONFIDENCE,
            1000,
        );
        assert!(many < few);
    }

    #[test]
    fn hostile_shares_give_numbers_not_panics() {
        for share in [f64::NAN, -5.0, 250.0, f64::INFINITY] {
            let s = Sampled { share, events: 10 };
            let _ = s.margin(CONFIDENCE);
            let _ = growth_lower_bound(s, s, CONFIDENCE, 0);
        }
        let none = Sampled {
            share: 0.0,
            events: 0,
        };
        assert!(growth_lower_bound(none, none, CONFIDENCE, 3) < 0.0);
    }
}
