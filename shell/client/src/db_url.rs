//! Database URLs (`postgres://USER@HOST[:PORT]/DATABASE`) read into a source's [`DbTarget`], in one place for
//! every front end. A URL never carries a password: it would stay in the shell history, so one is refused.

use polystoreiq_protocol::types::{DbTarget, SourceKind, TlsMode};
use polystoreiq_protocol::{ErrorCode, TypedError};

/// The URL scheme and the default port of a database kind; `None` for files, which have no URL.
pub fn scheme_and_port(kind: SourceKind) -> Option<(&'static str, u16)> {
    match kind {
        SourceKind::Postgres => Some(("postgres", 5432)),
        SourceKind::Mysql => Some(("mysql", 3306)),
        SourceKind::Mongodb => Some(("mongodb", 27017)),
        SourceKind::Files => None,
    }
}

/// `SCHEME://USER@HOST[:PORT]/DATABASE[?...]` for a database of `kind` (`postgresql://` too for PostgreSQL). The
/// user is optional for MongoDB, which may run without authentication; the query part is ignored.
pub fn parse_db_url(url: &str, kind: SourceKind, tls: TlsMode) -> Result<DbTarget, TypedError> {
    let Some((scheme, default_port)) = scheme_and_port(kind) else {
        return Err(TypedError::new(ErrorCode::BadRequest, "a files source is added with its files, not a URL"));
    };
    let bad = |why: &str| {
        TypedError::new(ErrorCode::BadRequest, format!("{why}; expected {scheme}://USER@HOST[:PORT]/DATABASE"))
    };
    let rest = url
        .strip_prefix(&format!("{scheme}://"))
        .or_else(|| url.strip_prefix("postgresql://").filter(|_| kind == SourceKind::Postgres))
        .ok_or_else(|| bad("the URL must start with the database's scheme"))?;
    let (authority, database) = rest.split_once('/').ok_or_else(|| bad("no database in the URL"))?;
    let (user, host_port) = match authority.rsplit_once('@') {
        Some(split) => split,
        None if kind == SourceKind::Mongodb => ("", authority),
        None => return Err(bad("no user in the URL")),
    };
    if user.contains(':') {
        return Err(TypedError::new(
            ErrorCode::BadRequest,
            "do not put the password in the URL (it would stay in your shell history); pass --password-stdin",
        ));
    }
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().map_err(|_| bad("the port is not a number"))?),
        None => (host_port, default_port),
    };
    let database = database.split('?').next().unwrap_or_default();
    if (user.is_empty() && kind != SourceKind::Mongodb) || host.is_empty() || database.is_empty() {
        return Err(bad("the user, host and database must not be empty"));
    }
    Ok(DbTarget { host: host.to_owned(), port, database: database.to_owned(), user: user.to_owned(), tls })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `expected`: `user@host:port/database`, or the start of the error's message.
    fn check(kind: SourceKind, url: &str, expected: &str) {
        let got = match parse_db_url(url, kind, TlsMode::Prefer) {
            Ok(t) => {
                assert_eq!(t.tls, TlsMode::Prefer);
                format!("{}@{}:{}/{}", t.user, t.host, t.port, t.database)
            }
            Err(err) => {
                assert_eq!(err.code, ErrorCode::BadRequest, "{url}");
                err.message
            }
        };
        assert!(got.starts_with(expected), "{kind:?} {url:?}: got {got:?}, expected {expected:?}");
    }

    #[test]
    fn database_urls() {
        use SourceKind::{Files, Mongodb, Mysql, Postgres};
        check(Postgres, "postgres://reader@db.local:6543/shop", "reader@db.local:6543/shop");
        check(Postgres, "postgres://reader@db.local/shop", "reader@db.local:5432/shop");
        check(Postgres, "postgresql://reader@db.local/shop", "reader@db.local:5432/shop");
        check(Postgres, "postgres://reader@db.local/shop?sslmode=require", "reader@db.local:5432/shop");
        check(Mysql, "mysql://root@127.0.0.1/shop", "root@127.0.0.1:3306/shop");
        check(Mysql, "postgresql://root@127.0.0.1/shop", "the URL must start with the database's scheme");
        check(Mongodb, "mongodb://127.0.0.1/shop", "@127.0.0.1:27017/shop");
        check(Mongodb, "mongodb://app@127.0.0.1:27018/shop", "app@127.0.0.1:27018/shop");
        check(Postgres, "mysql://reader@db.local/shop", "the URL must start with the database's scheme");
        check(Postgres, "postgres://db.local/shop", "no user in the URL");
        check(Postgres, "postgres://reader@db.local", "no database in the URL");
        check(Postgres, "postgres://reader@db.local/", "the user, host and database must not be empty");
        check(Postgres, "postgres://reader@/shop", "the user, host and database must not be empty");
        check(Postgres, "postgres://reader@db.local:x/shop", "the port is not a number");
        check(Postgres, "postgres://reader@db.local:70000/shop", "the port is not a number");
        check(Postgres, "postgres://reader:hunter2@db.local/shop", "do not put the password in the URL");
        check(Mongodb, "mongodb://app:hunter2@127.0.0.1/shop", "do not put the password in the URL");
        check(Files, "file:///tmp/x.csv", "a files source is added with its files");
    }

    #[test]
    fn an_error_names_the_expected_form() {
        let err = parse_db_url("mysql://x", SourceKind::Mysql, TlsMode::Disable).unwrap_err();
        assert!(err.message.ends_with("expected mysql://USER@HOST[:PORT]/DATABASE"), "{}", err.message);
    }
}
