//! Debian version numbers (`[epoch:]upstream[-revision]`), compared as dpkg compares them
//! (deb-version(7)): the epoch numerically, then the upstream version and the revision by
//! alternating runs of non-digits (letters before other characters, `~` before everything, even
//! the end) and digits (numerically).

use std::cmp::Ordering;

/// Compares two Debian versions as `dpkg --compare-versions` does.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (a, b) = (Parts::of(a), Parts::of(b));
    a.epoch
        .cmp(&b.epoch)
        .then_with(|| compare_part(a.upstream, b.upstream))
        .then_with(|| compare_part(a.revision, b.revision))
}

/// The upstream part of a version: without the epoch and the Debian revision
/// (`1:2.42.2-1` → `2.42.2`).
pub fn upstream_version(version: &str) -> &str {
    Parts::of(version).upstream
}

struct Parts<'a> {
    epoch: u64,
    upstream: &'a str,
    revision: &'a str,
}

impl<'a> Parts<'a> {
    fn of(version: &'a str) -> Parts<'a> {
        let (epoch, rest) = match version.split_once(':') {
            Some((epoch, rest)) if !epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_digit()) => {
                (epoch.parse().unwrap_or(u64::MAX), rest)
            }
            _ => (0, version),
        };
        let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
        Parts { epoch, upstream, revision }
    }
}

/// The weight of a non-digit character: `~` sorts before the end of the string, which sorts
/// before letters, which sort before everything else.
fn weight(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`.
fn compare_part(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    while !a.is_empty() || !b.is_empty() {
        while a.first().is_some_and(|c| !c.is_ascii_digit()) || b.first().is_some_and(|c| !c.is_ascii_digit()) {
            let (wa, wb) = (weight(a.first().copied()), weight(b.first().copied()));
            if wa != wb {
                return wa.cmp(&wb);
            }
            a = a.get(1..).unwrap_or_default();
            b = b.get(1..).unwrap_or_default();
        }
        let (da, ra) = digits(a);
        let (db, rb) = digits(b);
        // Numerically: without leading zeros, the longer run is larger, else the first difference.
        let order = da.len().cmp(&db.len()).then_with(|| da.cmp(db));
        if order != Ordering::Equal {
            return order;
        }
        (a, b) = (ra, rb);
    }
    Ordering::Equal
}

/// The leading run of digits of `s` without its leading zeros, and the rest after the run.
fn digits(s: &[u8]) -> (&[u8], &[u8]) {
    let end = s.iter().position(|c| !c.is_ascii_digit()).unwrap_or(s.len());
    let (run, rest) = s.split_at(end);
    let zeros = run.iter().take_while(|c| **c == b'0').count();
    (&run[zeros..], rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_like_dpkg() {
        // Each version is lower than the next (checked with `dpkg --compare-versions lt`).
        let ascending = [
            "0.9",
            "1.0~rc1",
            "1.0~rc1-1",
            "1.0",
            "1.0-0.1",
            "1.0-1",
            "1.0-1+b1",
            "1.0-2~bpo12+1",
            "1.0-2",
            "1.0a",
            "1.0+dfsg",
            "1.00.1",
            "1.2",
            "1.10",
            "6.12.95-1~deb12u1",
            "6.12.117-1~deb12u1",
            "1:0.1",
            "2:0.0.1",
        ];
        for pair in ascending.windows(2) {
            assert_eq!(compare_versions(pair[0], pair[1]), Ordering::Less, "{} < {}", pair[0], pair[1]);
            assert_eq!(compare_versions(pair[1], pair[0]), Ordering::Greater, "{} > {}", pair[1], pair[0]);
        }
        for (a, b) in [("1.0", "1.0"), ("1.01", "1.1"), ("0:1.0-1", "1.0-1"), ("1.0-", "1.0")] {
            assert_eq!(compare_versions(a, b), Ordering::Equal, "{a} = {b}");
        }
    }

    #[test]
    fn upstream_part() {
        assert_eq!(upstream_version("2.42.2-1"), "2.42.2");
        assert_eq!(upstream_version("1:3.5.7-1~deb13u2"), "3.5.7");
        assert_eq!(upstream_version("0.18+ds-1"), "0.18+ds");
        assert_eq!(upstream_version("1.2-rc1-3"), "1.2-rc1");
        assert_eq!(upstream_version("20260812"), "20260812");
    }
}
