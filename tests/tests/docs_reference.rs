//! `docs/reference.md` is generated from the contract's comments: this test fails when it is not
//! what the current `.proto` files give. `BLESS=1 cargo test -p openim-tests --test
//! docs_reference` rewrites it.

use openim_tests::{reference, repo_path};

#[test]
fn the_committed_reference_is_generated_from_the_current_contract() {
    let path = repo_path("docs/reference.md");
    let generated = reference::render(policy_proto::FILE_DESCRIPTOR_SET);
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/reference.md");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/reference.md is not current: run `BLESS=1 cargo test -p openim-tests --test \
         docs_reference` and commit it"
    );
}
