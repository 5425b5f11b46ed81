//! The SBOM lint: every recipe declares a license and at least one CPE or a purl, or says why it
//! cannot with `sbom_exempt = "<reason>"`. Declared values are checked for shape (CPE 2.3
//! formatted string, `pkg:` URL, license expression characters), not against external lists.
//! It checks metadata only, so it lives with the metadata; `talos-ext-sbom`, which writes the
//! SPDX documents from those fields, re-exports it.

use crate::ExtensionMeta;

/// The SBOM-relevant metadata fields of one recipe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SbomFields {
    pub license: Option<String>,
    pub cpes: Vec<String>,
    pub purl: Option<String>,
    pub sbom_exempt: Option<String>,
}

impl SbomFields {
    /// The fields of an extension's metadata.
    pub fn from_meta(meta: &ExtensionMeta) -> SbomFields {
        SbomFields {
            license: meta.license.clone(),
            cpes: meta.cpes.clone(),
            purl: meta.purl.clone(),
            sbom_exempt: meta.sbom_exempt.clone(),
        }
    }
}

/// Every problem with `fields`, one message each, starting with the field name; empty when fine.
pub fn lint(fields: &SbomFields) -> Vec<String> {
    let mut problems = Vec::new();
    let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
    let exempt = match fields.sbom_exempt.as_deref() {
        Some(reason) if reason.trim().is_empty() => {
            problems.push("sbom_exempt: give the reason this extension has no license or cpe/purl".to_string());
            true
        }
        Some(_) => true,
        None => false,
    };
    let has_license = !blank(&fields.license);
    let has_id = !fields.cpes.is_empty() || !blank(&fields.purl);
    if !exempt {
        if !has_license {
            problems.push(
                "license: missing: declare the SPDX license expression of the upstream code \
                 (or `sbom_exempt = \"<reason>\"`)"
                    .to_string(),
            );
        }
        if !has_id {
            problems.push(
                "cpes, purl: declare at least one CPE 2.3 name or a purl, so scanners can match \
                 vulnerabilities (or `sbom_exempt = \"<reason>\"`)"
                    .to_string(),
            );
        }
    } else if has_license && has_id && fields.sbom_exempt.as_deref().is_some_and(|r| !r.trim().is_empty()) {
        problems.push("sbom_exempt: license and cpe/purl are declared: drop `sbom_exempt`".to_string());
    }
    if let Some(license) = fields.license.as_deref().filter(|l| !l.trim().is_empty()) {
        let chars_ok = license.chars().all(|c| c.is_ascii_alphanumeric() || " .-+():".contains(c));
        if !chars_ok || matches!(license.trim(), "NOASSERTION" | "NONE") {
            problems
                .push(format!("license: `{license}` is not an SPDX license expression (e.g. `GPL-2.0-only OR MIT`)"));
        }
    }
    for (i, cpe) in fields.cpes.iter().enumerate() {
        if !is_cpe23(cpe) {
            problems.push(format!(
                "cpes[{i}]: `{cpe}` is not a CPE 2.3 formatted string \
                 (`cpe:2.3:<part>:<vendor>:<product>:<version>:<update>:<edition>:<language>:<sw_edition>:<target_sw>:<target_hw>:<other>`)"
            ));
        }
    }
    if let Some(purl) = fields.purl.as_deref().filter(|p| !p.trim().is_empty())
        && !is_purl(purl)
    {
        problems.push(format!("purl: `{purl}` is not a package url (`pkg:<type>/[<namespace>/]<name>[@<version>]`)"));
    }
    problems
}

/// 13 `:`-separated components (`\:` is escaped), `cpe:2.3:` then part `a`, `o`, `h` or `*`, and
/// no empty or blank component.
fn is_cpe23(s: &str) -> bool {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                current.push(c);
                match chars.next() {
                    Some(n) => current.push(n),
                    None => return false,
                }
            }
            ':' => parts.push(std::mem::take(&mut current)),
            c if c.is_whitespace() => return false,
            c => current.push(c),
        }
    }
    parts.push(current);
    parts.len() == 13
        && parts[0] == "cpe"
        && parts[1] == "2.3"
        && matches!(parts[2].as_str(), "a" | "o" | "h" | "*")
        && parts.iter().all(|p| !p.is_empty())
}

/// `pkg:<type>/<name...>`: a type of letters, digits, `.`, `+`, `-` starting with a letter, and a
/// non-empty path.
fn is_purl(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("pkg:") else { return false };
    let Some((kind, path)) = rest.split_once('/') else { return false };
    let kind_ok = kind.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && kind.chars().all(|c| c.is_ascii_alphanumeric() || ".+-".contains(c));
    let name = path.split(['@', '?', '#']).next().unwrap_or_default();
    kind_ok && !name.is_empty() && !name.ends_with('/') && !s.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpe_shapes() {
        assert!(is_cpe23("cpe:2.3:a:crun_project:crun:1.29:*:*:*:*:*:*:*"));
        assert!(is_cpe23(r"cpe:2.3:a:vendor:prod\:uct:1.0:*:*:*:*:*:*:*"));
        assert!(!is_cpe23("cpe:2.3:a:crun_project:crun:1.29:*:*:*:*:*:*"));
        assert!(!is_cpe23("cpe:/a:crun_project:crun:1.29"));
        assert!(!is_cpe23("cpe:2.3:x:v:p:1:*:*:*:*:*:*:*"));
        assert!(!is_cpe23("cpe:2.3:a:v::1:*:*:*:*:*:*:*"));
    }

    #[test]
    fn purl_shapes() {
        assert!(is_purl("pkg:github/containers/crun@1.29"));
        assert!(is_purl("pkg:golang/github.com/tailscale/tailscale@v1.84.2"));
        assert!(!is_purl("pkg:github"));
        assert!(!is_purl("github/containers/crun"));
        assert!(!is_purl("pkg:1x/y"));
        assert!(!is_purl("pkg:github/@1.0"));
    }
}
