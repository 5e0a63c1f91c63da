//! The after-event spool's records as the delivery reads them back (any bytes: a corrupt or
//! foreign spool file): stored and loaded back unchanged, decoding never panics, a decoded
//! record survives its own encoding, and the command it names is looked up safely.
#![no_main]

use std::sync::{LazyLock, Mutex};

use libfuzzer_sys::fuzz_target;
use openim_shim::{
    after::{
        idempotency_key,
        spool::{Batch, SpoolRecord, Store},
    },
    commands,
};
use prost::Message as _;

/// An in-memory spool and its next sequence number.
static SPOOL: LazyLock<Mutex<(Store, u64)>> =
    LazyLock::new(|| Mutex::new((Store::in_memory(1 << 30).expect("in-memory spool"), 1)));

fuzz_target!(|data: &[u8]| {
    let stored = {
        let mut spool = SPOOL.lock().unwrap_or_else(|e| e.into_inner());
        let seq = spool.1;
        spool.1 += 1;
        spool
            .0
            .commit(&Batch {
                append: vec![(seq, data.to_vec().into())],
                attempts: vec![(seq, 1)],
                remove: Vec::new(),
            })
            .expect("commit");
        let loaded = spool.0.load(seq, 1).expect("load");
        spool
            .0
            .commit(&Batch {
                remove: vec![seq],
                ..Batch::default()
            })
            .expect("remove");
        loaded
    };
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].record, data);
    assert_eq!(stored[0].attempts, 1);

    let Ok(record) = SpoolRecord::decode(&stored[0].record[..]) else {
        return;
    };
    let again = SpoolRecord::decode(&record.encode_to_vec()[..]).expect("re-decode");
    assert_eq!(again, record);
    if let Some((wire, command)) = commands::lookup(&record.command) {
        assert!(command.name == wire || command.aliases.contains(&wire));
        let key = idempotency_key(command, None, &record.payload, &record.operation_id);
        assert!(key.starts_with(command.config_key));
    }
});
