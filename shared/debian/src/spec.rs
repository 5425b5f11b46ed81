//! [`PackageSpec`]: a package asked for by name, with an optional architecture and version, in
//! apt's syntax (`hello`, `hello:arm64`, `util-linux=2.42.2-1`, `hello:arm64=2.10-3`).

use std::fmt;

use crate::DebianError;

/// The architecture of a binary package asked for without one.
pub const DEFAULT_ARCH: &str = "amd64";

/// `<package>[:<arch>][=<version>]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackageSpec {
    pub name: String,
    /// `None`: [`DEFAULT_ARCH`] for binary packages (an `all` package matches any arch).
    pub arch: Option<String>,
    /// `None`: the newest version the indexes list.
    pub version: Option<String>,
}

impl PackageSpec {
    /// A spec of `name` with neither an architecture nor a version.
    pub fn new(name: &str) -> PackageSpec {
        PackageSpec { name: name.to_string(), arch: None, version: None }
    }

    /// Parses apt's `<package>[:<arch>][=<version>]`.
    pub fn parse(spec: &str) -> Result<PackageSpec, DebianError> {
        let bad = |reason: &str| DebianError::Spec { spec: spec.to_string(), reason: reason.to_string() };
        let (head, version) = match spec.split_once('=') {
            Some((head, version)) => (head, Some(version)),
            None => (spec, None),
        };
        let (name, arch) = match head.split_once(':') {
            Some((name, arch)) => (name, Some(arch)),
            None => (head, None),
        };
        let name_ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c);
        if name.len() < 2 || !name.chars().all(name_ok) || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(bad("a package name is lowercase letters, digits and `+-.`, at least 2 long"));
        }
        if let Some(arch) = arch
            && (arch.is_empty() || !arch.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        {
            return Err(bad("an architecture is `amd64`, `arm64`, `all`, ..."));
        }
        if let Some(version) = version
            && (version.is_empty()
                || version.contains(char::is_whitespace)
                || !version.starts_with(char::is_alphanumeric))
        {
            return Err(bad("a version starts with a letter or digit and has no spaces"));
        }
        Ok(PackageSpec { name: name.to_string(), arch: arch.map(str::to_string), version: version.map(str::to_string) })
    }

    /// The architecture a binary lookup uses.
    pub fn arch_or_default(&self) -> &str {
        self.arch.as_deref().unwrap_or(DEFAULT_ARCH)
    }
}

impl fmt::Display for PackageSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(arch) = &self.arch {
            write!(f, ":{arch}")?;
        }
        if let Some(version) = &self.version {
            write!(f, "={version}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_apt_syntax() {
        let spec = PackageSpec::parse("hello:arm64=2.10-3").unwrap();
        assert_eq!(
            (spec.name.as_str(), spec.arch.as_deref(), spec.version.as_deref()),
            ("hello", Some("arm64"), Some("2.10-3"))
        );
        assert_eq!(spec.to_string(), "hello:arm64=2.10-3");
        let spec = PackageSpec::parse("openssl=3.5.7-1~deb13u2").unwrap();
        assert_eq!((spec.arch_or_default(), spec.version.as_deref()), ("amd64", Some("3.5.7-1~deb13u2")));
        let spec = PackageSpec::parse("linux-headers-6.12.117+deb12-common").unwrap();
        assert_eq!((spec.arch, spec.version), (None, None));
        assert_eq!(PackageSpec::parse("kmod=1:34.2-2").unwrap().version.as_deref(), Some("1:34.2-2"));
    }

    #[test]
    fn refuses_what_apt_would_not_take() {
        for bad in ["", "a", "Hello", "hello:", "hello=", "hello:ARM", "-x", "hello= 1", "x y"] {
            let err = PackageSpec::parse(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("`{bad}`")) && err.contains("<package>[:<arch>][=<version>]"), "{err}");
        }
    }
}
