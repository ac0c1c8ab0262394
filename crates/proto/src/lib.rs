//! # shoal-proto: the Redis wire format
//!
//! What travels between a client and a node, and nothing else: this crate
//! knows no command, no keyspace and no socket.
//!
//! | module      | job                                                          |
//! |-------------|--------------------------------------------------------------|
//! | [`request`] | incremental request parser (multibulk and inline), with Redis's exact protocol errors and limits |
//! | [`reply`]   | [`Reply`] writer: RESP2 or RESP3 straight into an output buffer |
//! | [`frame`]   | where a reply ends, to relay another node's answer unparsed   |
//! | [`number`]  | Redis's strict integer and float parsing and float formatting |
//! | [`longdouble`] | x87 `long double` parsing, addition and printing, for `INCRBYFLOAT` |
//! | [`pattern`] | Redis's glob matcher (`KEYS`, `SCAN MATCH`, `CONFIG GET`)     |
//!
//! Requests are parsed by hand rather than by `redis-protocol`'s decoder
//! because clients rely on Redis's exact `Protocol error: …` strings and on
//! inline commands, which a general RESP decoder does not give; the
//! `redis-protocol` crate stays as the independent encoder that the parser's
//! randomized tests are checked against.

pub mod frame;
pub mod longdouble;
pub mod number;
pub mod pattern;
pub mod reply;
pub mod request;

pub use reply::Reply;
pub use request::{ProtocolError, RequestParser};
