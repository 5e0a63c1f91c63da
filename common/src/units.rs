//! The two units people write in both binaries' flags, environment variables and YAML files,
//! with one grammar each: [`Duration`] and [`ByteSize`]. `FromStr` serves clap and the
//! environment, `Deserialize` serves YAML, and both run the same parser.

use std::{fmt, marker::PhantomData, str::FromStr};

use serde::{Deserialize, Deserializer, de};

/// A duration written `500ms`, `2s`, `5m`, `24h`, or a plain number of seconds (OpenIM writes its
/// webhook timeouts in seconds). Zero is refused: every duration here is a deadline or an
/// interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub std::time::Duration);

/// A size in bytes: a plain number, or a number with a unit, `64KiB`, `10MiB`, `1GiB` (powers of
/// 1024; also `KB`, `MB`, `GB`, powers of 1000, and `B`). Zero is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl From<Duration> for std::time::Duration {
    fn from(d: Duration) -> Self {
        d.0
    }
}

impl From<ByteSize> for u64 {
    fn from(s: ByteSize) -> Self {
        s.0
    }
}

/// [`Duration`]'s grammar, for clap's `value_parser` on a `std::time::Duration` field.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    s.parse().map(|d: Duration| d.0)
}

/// Splits `12ms` into 12 and `ms`; `what` names the expected form in the error.
fn number_and_unit<'a>(s: &'a str, what: &str) -> Result<(u64, &'a str), String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n = num.parse().map_err(|_| format!("{s:?} is not {what}"))?;
    Ok((n, unit.trim()))
}

fn more_than_zero<T>(value: T, is_zero: bool, s: &str) -> Result<T, String> {
    if is_zero {
        return Err(format!("{s:?}: must be more than zero"));
    }
    Ok(value)
}

impl FromStr for Duration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (n, unit) = number_and_unit(s, "a duration like 500ms, 2s, 5m or 24h")?;
        let d = match unit {
            "ms" => std::time::Duration::from_millis(n),
            "" | "s" => std::time::Duration::from_secs(n),
            "m" => std::time::Duration::from_secs(n.saturating_mul(60)),
            "h" => std::time::Duration::from_secs(n.saturating_mul(3600)),
            other => {
                return Err(format!(
                    "unknown unit {other:?} in {s:?}: use ms, s, m or h"
                ));
            }
        };
        more_than_zero(Self(d), d.is_zero(), s)
    }
}

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (n, unit) = number_and_unit(s, "a size like 65536, 64KiB or 10MiB")?;
        let scale: u64 = match unit {
            "" | "B" => 1,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            "KB" | "kB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            other => {
                return Err(format!(
                    "unknown unit {other:?} in {s:?}: use KiB, MiB or GiB"
                ));
            }
        };
        let bytes = n
            .checked_mul(scale)
            .ok_or_else(|| format!("{s:?} is too large"))?;
        more_than_zero(Self(bytes), bytes == 0, s)
    }
}

/// The shortest exact spelling in the grammar (`1500ms`, `90s`, `5m`, `24h`), for messages.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ms, s) = (self.0.as_millis(), self.0.as_secs());
        match () {
            () if ms % 1000 != 0 => write!(f, "{ms}ms"),
            () if s % 3600 == 0 => write!(f, "{}h", s / 3600),
            () if s % 60 == 0 => write!(f, "{}m", s / 60),
            () => write!(f, "{s}s"),
        }
    }
}

/// Reads a value written as text (`2s`) or as a YAML number (`2`, the grammar's plain number).
struct TextOrNumber<T>(PhantomData<T>);

impl<T: FromStr<Err = String>> de::Visitor<'_> for TextOrNumber<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number, or a number with a unit")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        v.to_string().parse().map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        v.to_string().parse().map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextOrNumber(PhantomData))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextOrNumber(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration as StdDuration;

    use super::*;

    #[test]
    fn durations_parse_in_ms_s_m_h_and_plain_seconds() {
        for (text, want) in [
            ("500ms", StdDuration::from_millis(500)),
            ("2s", StdDuration::from_secs(2)),
            ("3", StdDuration::from_secs(3)),
            (" 1m ", StdDuration::from_secs(60)),
            ("1 m", StdDuration::from_secs(60)),
            ("24h", StdDuration::from_secs(86_400)),
        ] {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
        for text in ["0s", "0h", "", "fast", "1.5s", "-1s", "1d"] {
            assert!(parse_duration(text).is_err(), "{text}");
        }
        assert!(parse_duration("1d").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("0").unwrap_err().contains("more than zero"));
    }

    #[test]
    fn durations_print_in_their_shortest_exact_spelling() {
        for text in ["1500ms", "90s", "5m", "24h"] {
            assert_eq!(text.parse::<Duration>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn sizes_parse_in_bytes_binary_and_decimal_units() {
        for (text, want) in [
            ("65536", 65_536),
            ("64KiB", 65_536),
            ("1 GiB", 1 << 30),
            ("10MB", 10_000_000),
            ("5kB", 5_000),
            ("12B", 12),
        ] {
            assert_eq!(text.parse(), Ok(ByteSize(want)), "{text}");
        }
        for text in ["0", "0KiB", "1TB", "lots", "99999999999GiB"] {
            assert!(text.parse::<ByteSize>().is_err(), "{text}");
        }
    }

    /// YAML gives a plain number as a number and `2s` as a string: both read the same way.
    #[test]
    fn deserialize_reads_numbers_and_text_with_the_same_grammar() {
        use serde::de::{IntoDeserializer, value::Error};
        let number = |n: u64| IntoDeserializer::<Error>::into_deserializer(n);
        let text = |s: &'static str| IntoDeserializer::<Error>::into_deserializer(s);
        assert_eq!(
            Duration::deserialize(number(3)),
            Ok(Duration(StdDuration::from_secs(3)))
        );
        assert_eq!(
            Duration::deserialize(text("2h")),
            Ok(Duration(StdDuration::from_secs(7200)))
        );
        assert_eq!(ByteSize::deserialize(number(512)), Ok(ByteSize(512)));
        assert_eq!(ByteSize::deserialize(text("1MiB")), Ok(ByteSize(1 << 20)));
        assert!(ByteSize::deserialize(number(0)).is_err());
    }
}
