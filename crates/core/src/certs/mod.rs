//! `certs` against clusters: the `cacerts` Secret ([`secret`]).
//!
//! The cryptography and the files on disk are `mesh_trust`'s; this module is what reads and
//! writes clusters.

pub mod secret;
