//! Authentication against real registries: htpasswd basic auth (no credentials, wrong ones,
//! a Docker config file, environment variables) and the bearer token flow.

use std::collections::BTreeMap;

use talos_ext_registry::testing::{TestAuth, TestRegistry, fast_retry};
use talos_ext_registry::{
    Client, ClientConfig, CredentialStore, Credentials, ENV_DOCKER_CONFIG, ENV_PASSWORD, ENV_USER, NoReporter,
    PushOptions, RegistryError,
};

use crate::support::Fixture;

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |name| map.get(name).cloned()
}

fn client(credentials: CredentialStore) -> Client {
    Client::new(ClientConfig { credentials, retry: fast_retry(), ..ClientConfig::default() })
}

#[test]
fn basic_auth_needs_credentials() {
    let registry = TestRegistry::start_with(TestAuth::Basic(Credentials::new("alice", "s3cret"))).unwrap();
    let fixture = Fixture::sized("basic", 16 << 10);
    let target = registry.reference("ext/hello:v1");

    let err = client(CredentialStore::anonymous())
        .push_layout(&fixture.dir, &target, &PushOptions::default(), &NoReporter)
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(&err, RegistryError::Unauthorized { status: 401, authenticated: false, registry: host, repo, .. }
            if *host == registry.host() && repo == "ext/hello"),
        "{err:?}"
    );
    assert!(message.contains("needs credentials and none were found"), "{message}");
    assert!(message.contains(&format!("hint: set `{ENV_USER}` and `{ENV_PASSWORD}`")), "{message}");

    let err = client(CredentialStore::with_credentials(Credentials::new("alice", "wrong")))
        .push_layout(&fixture.dir, &target, &PushOptions::default(), &NoReporter)
        .unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { authenticated: true, .. }), "{err:?}");
    assert!(err.to_string().contains("hint: check the user name and password"), "{err}");
    assert!(!format!("{err:?}").contains("wrong"), "{err:?}");

    // Nothing was pushed.
    let admin = Client::new(registry.client_config());
    assert_eq!(admin.head_manifest(&target).unwrap(), None);
}

#[test]
fn basic_auth_with_docker_config() {
    let registry = TestRegistry::start_with(TestAuth::Basic(Credentials::new("alice", "s3cret"))).unwrap();
    let fixture = Fixture::sized("docker-config", 16 << 10);
    let config_dir = tempfile::tempdir().unwrap();
    // base64("alice:s3cret")
    let config = format!(r#"{{"auths": {{"http://{}": {{"auth": "YWxpY2U6czNjcmV0"}}}}}}"#, registry.host());
    std::fs::write(config_dir.path().join("config.json"), config).unwrap();
    let store = CredentialStore::from_vars(vars(&[(ENV_DOCKER_CONFIG, config_dir.path().to_str().unwrap())])).unwrap();
    assert_eq!(store.lookup(&registry.host()).map(Credentials::username), Some("alice"));

    let target = registry.reference("ext/hello:v1");
    let summary = client(store).push_layout(&fixture.dir, &target, &PushOptions::default(), &NoReporter).unwrap();
    assert_eq!(summary.index_digest, fixture.index_digest());
}

#[test]
fn basic_auth_with_environment() {
    let registry = TestRegistry::start_with(TestAuth::Basic(Credentials::new("alice", "s3cret"))).unwrap();
    let fixture = Fixture::sized("env", 16 << 10);
    // The environment wins over a Docker config with a stale password.
    let config_dir = tempfile::tempdir().unwrap();
    let config = format!(r#"{{"auths": {{"{}": {{"username": "alice", "password": "old"}}}}}}"#, registry.host());
    std::fs::write(config_dir.path().join("config.json"), config).unwrap();
    let store = CredentialStore::from_vars(vars(&[
        (ENV_USER, "alice"),
        (ENV_PASSWORD, "s3cret"),
        (ENV_DOCKER_CONFIG, config_dir.path().to_str().unwrap()),
    ]))
    .unwrap();
    let c = client(store);
    let target = registry.reference("ext/hello:v1");
    c.push_layout(&fixture.dir, &target, &PushOptions::default(), &NoReporter).unwrap();
    assert_eq!(c.get_manifest(&target).unwrap().digest, fixture.index_digest());
    assert_eq!(c.list_tags(&target.repository).unwrap(), ["v1"]);
}

#[test]
fn bearer_token_flow() {
    let registry = TestRegistry::start_with(TestAuth::Token(Credentials::new("bob", "t0ken-pw"))).unwrap();
    let fixture = Fixture::sized("token", 16 << 10);
    let target = registry.reference("ext/hello:v1");

    // Without credentials the token server refuses.
    let err = client(CredentialStore::anonymous())
        .push_layout(&fixture.dir, &target, &PushOptions::default(), &NoReporter)
        .unwrap_err();
    assert!(matches!(&err, RegistryError::Token { authenticated: false, .. }), "{err:?}");
    assert!(err.to_string().contains("hint: set `TALOS_EXT_REGISTRY_USER`"), "{err}");
    assert_eq!(registry.token_server().unwrap().refused(), 1);

    let c = client(CredentialStore::with_credentials(Credentials::new("bob", "t0ken-pw")));
    let summary = c.push_layout(&fixture.dir, &target, &PushOptions::default(), &NoReporter).unwrap();
    assert_eq!(summary.index_digest, fixture.index_digest());
    let server = registry.token_server().unwrap();
    // One token per scope set (push on ext/hello), reused for all 11 requests.
    assert_eq!(server.issued(), 1);

    // A second repository mounting from the first needs pull on both: a second token.
    let copy = registry.reference("ext/copy:v1");
    let options = PushOptions { mount_from: vec!["ext/hello".into()] };
    let summary = c.push_layout(&fixture.dir, &copy, &options, &NoReporter).unwrap();
    assert_eq!(summary.blobs_mounted, 4);
    assert_eq!(c.get_manifest(&copy).unwrap().bytes, fixture.index_bytes());
    // Tokens for: push on ext/copy, pull on ext/hello (the mount source check), push on
    // ext/copy + pull on ext/hello (the mount), pull on ext/copy (the get).
    assert_eq!(server.issued(), 5);
}
