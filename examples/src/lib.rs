//! Runnable examples of the HR-docs SDK; this library target is empty on purpose.
//!
//! The examples live in `examples/examples/` and run from the workspace root:
//! `cargo run --example full_flow` (the whole flow on the built-in sandboxes),
//! `beorg_poll`, `saby_send`, `saby_incoming` and `saby_archive`. Each uses the in-process
//! sandboxes unless the `BEORG_*` / `SABY_*` environment variables are set.
