//! A DNS server for tests, on loopback UDP: answers A queries for one name with the addresses
//! the test sets (as a Kubernetes headless Service answers with its ready pods), with a TTL of
//! one second; NXDOMAIN for any other name. Enough for the shim's resolver to find policy
//! replicas that come and go.

use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex},
};

use hickory_proto::{
    op::{Message, MessageType, ResponseCode},
    rr::{Name, RData, Record, RecordType, rdata::A},
};
use tokio::net::UdpSocket;

/// A running DNS server; stops when dropped.
#[derive(Debug)]
pub struct DnsServer {
    /// Where it listens (UDP).
    pub addr: SocketAddr,
    /// The name it answers for, e.g. `policy.test`.
    pub name: String,
    addresses: Arc<Mutex<Vec<Ipv4Addr>>>,
    task: tokio::task::JoinHandle<()>,
}

impl DnsServer {
    /// Starts answering `name` with `addresses`.
    pub async fn start(name: &str, addresses: &[Ipv4Addr]) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind DNS");
        let addr = socket.local_addr().expect("DNS address");
        let addresses = Arc::new(Mutex::new(addresses.to_vec()));
        let fqdn = Name::from_ascii(format!("{name}.")).expect("a DNS name");
        let answer = addresses.clone();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 1500];
            loop {
                let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                    return;
                };
                let Ok(query) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let reply = reply_to(&query, &fqdn, &answer.lock().expect("addresses"));
                if let Ok(bytes) = reply.to_vec() {
                    let _ = socket.send_to(&bytes, from).await;
                }
            }
        });
        Self {
            addr,
            name: name.to_owned(),
            addresses,
            task,
        }
    }

    /// Answers with `addresses` from now on.
    pub fn set(&self, addresses: &[Ipv4Addr]) {
        *self.addresses.lock().expect("addresses") = addresses.to_vec();
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn reply_to(query: &Message, name: &Name, addresses: &[Ipv4Addr]) -> Message {
    let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
    reply.metadata.message_type = MessageType::Response;
    reply.metadata.authoritative = true;
    reply.metadata.recursion_desired = query.metadata.recursion_desired;
    reply.metadata.recursion_available = true;
    reply.queries = query.queries.clone();
    let Some(q) = query.queries.first() else {
        reply.metadata.response_code = ResponseCode::FormErr;
        return reply;
    };
    // Names compare without regard to case, as DNS does.
    if q.name() != name {
        reply.metadata.response_code = ResponseCode::NXDomain;
        return reply;
    }
    if q.query_type() == RecordType::A {
        for ip in addresses {
            reply.add_answer(Record::from_rdata(name.clone(), 1, RData::A(A(*ip))));
        }
    }
    reply
}
