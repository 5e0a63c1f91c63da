// Package openimgo tests the real openim-shim binary with OpenIM v3.8.3's own code: OpenIM's
// webhook client (pkg/common/webhook), its request and reply structs (pkg/callbackstruct), its
// protocol types, and the statements of its before-callback functions that apply a reply to the
// operation's request. The shim's replies are judged by what OpenIM v3.8.3 does with them, not by
// our reading of OpenIM. See README.md.
//
// The package has tests only: go test ./... with OPENIM_SHIM_BIN set to the binary (default
// ../../target/debug/openim-shim).
package openimgo
