//! The seatbelt profiles as shipped, the checker in `checker.rs` held to what it should catch, and the checks
//! and path resolution of parameter values.

use std::collections::{BTreeMap, BTreeSet};

use super::checker::*;
use super::*;

// ---- The profiles as shipped.

#[test]
fn every_profile_file_parses_on_its_own() {
    for (file, text) in [("common.sb", COMMON), ("duckdb.sb", DUCKDB), ("network.sb", NETWORK)] {
        let parsed = parse(text).unwrap_or_else(|err| panic!("{file}: {err}"));
        assert!(!parsed.forms.is_empty(), "{file} is empty");
    }
    let common = parse(COMMON).unwrap();
    assert_eq!(common.forms[0].to_string(), "(version 1)", "common.sb opens with (version 1)");
    assert!(common.forms.iter().any(|f| f.to_string() == "(deny default)"), "common.sb denies by default");
    for (file, text) in [("duckdb.sb", DUCKDB), ("network.sb", NETWORK)] {
        let parsed = parse(text).unwrap();
        assert!(
            parsed.forms.iter().all(|f| f.head() != Some("version")),
            "{file} follows common.sb in one profile, so it has no version form of its own"
        );
    }
}

#[test]
fn every_whole_profile_keeps_the_rules() {
    for kind in Profile::ALL {
        let (text, parameters) = whole(kind);
        let found = problems(&text, &parameters);
        assert!(found.is_empty(), "{kind} profile:\n{}", found.join("\n"));
    }
}

#[test]
fn parameters_are_exactly_those_the_profiles_read() {
    let mut all: Vec<&str> = Vec::new();
    for kind in Profile::ALL {
        all.extend(kind.parameters());
    }
    let union: BTreeSet<&str> = all.iter().copied().collect();
    let listed: BTreeSet<&str> = PARAMETERS.iter().copied().collect();
    assert_eq!(listed.len(), PARAMETERS.len(), "PARAMETERS lists a name twice");
    assert_eq!(union, listed, "every listed parameter belongs to some profile, and no other");
    // Only common.sb's parameters are shared between kinds.
    let shared: Vec<&str> =
        Profile::Duckdb.parameters().filter(|p| Profile::Network.parameters().any(|q| q == *p)).collect();
    assert_eq!(shared, COMMON_PARAMETERS);
    assert_eq!(SOURCE_PATHS.len(), SOURCE_PATH_SLOTS);
    for (i, name) in SOURCE_PATHS.iter().enumerate() {
        assert_eq!(*name, format!("SOURCE_PATH_{i}"));
    }
    // And the profile files themselves: common.sb reads only common parameters.
    let common = parse(COMMON).unwrap();
    let mut forms = Vec::new();
    for form in &common.forms {
        form.walk(&mut forms);
    }
    let read: BTreeSet<String> = forms
        .iter()
        .filter(|f| f.head() == Some("param"))
        .map(|f| f.items()[1].to_string().trim_matches('"').to_owned())
        .collect();
    let expected: BTreeSet<String> = COMMON_PARAMETERS.iter().map(|s| s.to_string()).collect();
    assert_eq!(read, expected);
}

#[test]
fn writes_reach_only_the_scratch_dir_the_database_during_an_import_and_dev_null() {
    for kind in Profile::ALL {
        let parsed = parsed_rules(kind);
        for rule in rules(&parsed.forms).iter().filter(|r| r.allow) {
            let writes = rule.operations.iter().any(|op| op.starts_with("file-write") || *op == "file*");
            if !writes {
                continue;
            }
            for filter in &rule.filters {
                let scratch = filter.mentions("scratch-dir");
                let database =
                    filter.mentions("duckdb-file") && rule.conditions.iter().any(|c| c.to_string() == "import-job?");
                let dev_null = filter.to_string() == r#"(literal "/dev/null")"#;
                assert!(
                    scratch || database || dev_null,
                    "{kind} profile line {}: writes {filter}, outside the scratch dir",
                    rule.form.line()
                );
            }
        }
    }
}

#[test]
fn only_the_network_profile_reaches_the_network_and_only_the_database_port() {
    let network_ops = ["network*", "network-outbound", "network-inbound", "network-bind", "system-socket"];
    let mut allowed = BTreeMap::new();
    for kind in Profile::ALL {
        let parsed = parsed_rules(kind);
        let mut reach = Vec::new();
        for rule in rules(&parsed.forms).iter().filter(|r| r.allow) {
            if !rule.operations.iter().any(|op| network_ops.contains(op)) {
                continue;
            }
            assert_eq!(rule.operations, ["network-outbound"], "{kind}: only outbound connections");
            for filter in &rule.filters {
                reach.push(filter.to_string());
                let conditions: Vec<String> = rule.conditions.iter().map(|c| c.to_string()).collect();
                if filter.head() == Some("remote") {
                    assert!(filter.items()[1].is_sym("tcp"), "{kind}: TCP only, never UDP or any IP: {filter}");
                    assert!(filter.mentions("db-port"), "{kind}: to the database's port only: {filter}");
                    assert!(filter.mentions("db-host-scope"), "{kind}: on loopback for a local database: {filter}");
                } else {
                    assert_eq!(filter.to_string(), r#"(literal "/private/var/run/mDNSResponder")"#);
                    assert_eq!(conditions, ["dns-lookup?"], "{kind}: the resolver only when the host is a name");
                }
            }
        }
        allowed.insert(kind.name(), reach);
    }
    assert_eq!(allowed["duckdb"], Vec::<String>::new(), "a DuckDB worker has no network at all");
    assert_eq!(allowed["network"].len(), 2);
    let duckdb = parsed_rules(Profile::Duckdb);
    assert_eq!(duckdb.forms.last().map(|f| f.to_string()), Some("(deny network*)".to_owned()));
}

#[test]
fn common_denies_new_processes_explicitly() {
    let common = parse(COMMON).unwrap();
    let top: Vec<String> = common.forms.iter().map(|f| f.to_string()).collect();
    for denial in ["(deny process-fork)", "(deny process-exec)", "(allow signal (target self))"] {
        assert!(top.iter().any(|f| f == denial), "common.sb lacks {denial}");
    }
}

// ---- The checker itself: each rule catches what it should.

fn problems_of(kind_text: &str, parameters: &[&str]) -> Vec<String> {
    let text = format!("{COMMON}\n{kind_text}");
    let mut all: Vec<&str> = COMMON_PARAMETERS.to_vec();
    all.extend(parameters);
    problems(&text, &all)
}

fn assert_caught(kind_text: &str, parameters: &[&str], expected: &str) {
    let found = problems_of(kind_text, parameters);
    assert!(found.iter().any(|p| p.contains(expected)), "expected a problem containing {expected:?}, got {found:?}");
}

#[test]
fn the_checker_accepts_a_good_kind_profile() {
    let good = "; Reason.\n(allow file-read* (subpath (param \"X\")))\n";
    assert_eq!(problems_of(good, &["X"]), Vec::<String>::new());
}

#[test]
fn the_checker_catches_broken_profiles() {
    assert_caught("(allow file-read* (subpath \"/a\"))\n", &[], "without a comment line");
    assert_caught("; Reason.\n\n(allow file-read* (subpath \"/a\"))\n", &[], "without a comment line");
    assert_caught("(allow file-read* (subpath \"/a\")) ; trailing\n", &[], "without a comment line");
    assert_caught("; Reason.\n(allow file-reed* (subpath \"/a\"))\n", &[], "unknown seatbelt operation file-reed*");
    assert_caught("; Reason.\n(allow file-read* (subpth \"/a\"))\n", &[], "unknown seatbelt filter");
    assert_caught("; Reason.\n(allow file-read* (subpath (param \"Y\")))\n", &[], "which the launcher does not pass");
    assert_caught("; Reason.\n(allow file-read* (subpath \"/a\"))\n", &["Z"], "never reads the parameter Z");
    assert_caught("; Reason.\n(allow file-read* (subpath (param (string-append \"A\" \"B\"))))\n", &[], "as a string");
    assert_caught("; Reason.\n(allow process-fork)\n", &[], "never starts a process");
    assert_caught("; Reason.\n(allow process-exec (literal \"/bin/sh\"))\n", &[], "never starts a process");
    assert_caught("; Reason.\n(allow signal (target others))\n", &[], "beyond (target self)");
    assert_caught("; Reason.\n(allow network-outbound)\n", &[], "without a filter");
    assert_caught("(version 1)\n", &[], "2 version forms");
    assert_caught("(import \"system.sb\")\n", &[], "unexpected top-level form");
    assert_caught("; Reason.\n(allow file-read* (subpath \"/a\")\n", &[], "never closed");
    assert_caught("; Reason.\n(allow file-read* (subpath \"/a\")))\n", &[], "unbalanced ')'");
    assert_caught("; Reason.\n(allow file-read* (subpath \"/a))\n", &[], "unterminated string");
    assert_caught("stray\n", &[], "stray stray outside any form");
    assert_caught("(if x\n  ; Reason.\n  (allow process-fork))\n", &[], "never starts a process");
    // An allow ahead of (deny default), and a profile without it.
    let early = "(version 1)\n; Reason.\n(allow signal (target self))\n(deny default)\n";
    assert!(problems(early, &[]).iter().any(|p| p.contains("before (deny default)")));
    assert!(problems("(version 1)\n", &[]).iter().any(|p| p.contains("no top-level (deny default)")));
    assert!(problems("(deny default)\n(version 1)\n", &[]).iter().any(|p| p.contains("does not start with")));
}

#[test]
fn the_reader_handles_strings_comments_and_quotes() {
    let parsed = parse("; a\n(a \"b \\\"c\\\" \\\\ d\" #\"^e\\.f$\" 'g) ; h\n  ; i\n(j)").unwrap();
    assert_eq!(parsed.forms.len(), 2);
    let items = parsed.forms[0].items();
    assert!(items[1].is_str("b \"c\" \\ d"));
    assert!(items[2].is_str("^e\\.f$"));
    assert_eq!(items[3].to_string(), "(quote g)");
    assert_eq!(parsed.forms[1].line(), 4);
    assert_eq!(parsed.comment_lines, BTreeSet::from([1, 3]));
    assert!(parse("(a \"\\q\")").unwrap_err().contains("unknown escape"));
}

// ---- Parameter values.

fn names(params: &[(&'static str, String)]) -> Vec<&'static str> {
    params.iter().map(|(name, _)| *name).collect()
}

fn existing() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("polystoreiq-worker");
    std::fs::write(&binary, b"").unwrap();
    let scratch = dir.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    (dir, binary.to_str().unwrap().to_owned(), scratch.to_str().unwrap().to_owned())
}

#[test]
fn duckdb_parameters_fill_every_slot_and_pass_prepare() {
    let (dir, binary, scratch) = existing();
    let csv = dir.path().join("a.csv");
    std::fs::write(&csv, b"x\n1\n").unwrap();
    let csv = csv.to_str().unwrap();
    let params = duckdb_parameters(&binary, &scratch, &[csv, csv], None, true).unwrap();
    assert_eq!(names(&params), Profile::Duckdb.parameters().collect::<Vec<_>>());
    let value = |name: &str| params.iter().find(|(n, _)| *n == name).unwrap().1.clone();
    assert_eq!(value("SOURCE_PATH_0"), csv);
    assert_eq!(value("SOURCE_PATH_1"), "/dev/null", "a path named twice takes one slot");
    assert_eq!(value("SOURCE_PATH_31"), "/dev/null");
    assert_eq!(value("DUCKDB_FILE"), "/dev/null");
    assert_eq!(value("IMPORT_JOB"), "FALSE", "no database, nothing to import into");
    let prepared = prepare(Profile::Duckdb, &params.iter().map(|(n, v)| (*n, v.clone())).collect::<Vec<_>>()).unwrap();
    assert_eq!(names(&prepared), names(&params));

    let db = dir.path().join("source.duckdb");
    let params = duckdb_parameters(&binary, &scratch, &[csv], db.to_str(), true).unwrap();
    let value = |name: &str| params.iter().find(|(n, _)| *n == name).unwrap().1.clone();
    assert_eq!(value("IMPORT_JOB"), "TRUE");
    assert_eq!(value("DUCKDB_FILE"), db.to_str().unwrap());
}

#[test]
fn each_policy_gets_its_profile_and_only_its_own_paths() {
    use polystoreiq_protocol::worker::{DatabaseFile, NetworkTarget, ResourceLimits};

    let policy =
        |source_paths: &[&str], database: Option<DatabaseFile>, network: Option<NetworkTarget>| SandboxPolicy {
            scratch: "/s".into(),
            source_paths: source_paths.iter().map(|p| p.to_string()).collect(),
            database,
            network,
            limits: ResourceLimits { cpu_seconds: 1, open_files: 1, file_size_bytes: 1 },
            allow_degraded: false,
        };
    let database = |import| Some(DatabaseFile { path: "/h/datasets/s.duckdb".into(), import });
    let value = |params: &[(&'static str, String)], name: &str| {
        params.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()).unwrap()
    };
    let files = ["/d/a1.csv", "/d/a2.csv", "/d/b.csv"];

    let (kind, params) = for_policy(&policy(&files, database(true), None), "/w").unwrap();
    assert_eq!(kind, Profile::Duckdb);
    assert_eq!(names(&params), Profile::Duckdb.parameters().collect::<Vec<_>>());
    let slots: Vec<String> = SOURCE_PATHS.iter().take(4).map(|n| value(&params, n)).collect();
    assert_eq!(slots, ["/d/a1.csv", "/d/a2.csv", "/d/b.csv", "/dev/null"]);
    assert_eq!(value(&params, "DUCKDB_FILE"), "/h/datasets/s.duckdb");
    assert_eq!(value(&params, "IMPORT_JOB"), "TRUE");
    assert_eq!(value(&params, "SCRATCH_DIR"), "/s");
    assert_eq!(value(&params, "WORKER_BINARY"), "/w");

    let (kind, params) = for_policy(&policy(&files, database(false), None), "/w").unwrap();
    assert_eq!(kind, Profile::Duckdb);
    assert_eq!(value(&params, "IMPORT_JOB"), "FALSE", "a query never writes the database");
    assert_eq!(value(&params, "DUCKDB_FILE"), "/h/datasets/s.duckdb");

    let (kind, params) = for_policy(&policy(&files, None, None), "/w").unwrap();
    assert_eq!(kind, Profile::Duckdb);
    assert_eq!((value(&params, "DUCKDB_FILE"), value(&params, "IMPORT_JOB")), ("/dev/null".into(), "FALSE".into()));

    let target = NetworkTarget { host: "127.0.0.1".into(), port: 6543, name_resolution: false };
    let (kind, params) = for_policy(&policy(&[], None, Some(target)), "/w").unwrap();
    assert_eq!(kind, Profile::Network);
    assert_eq!(names(&params), Profile::Network.parameters().collect::<Vec<_>>());
    assert_eq!((value(&params, "DB_PORT"), value(&params, "DB_HOST_SCOPE")), ("6543".into(), "localhost".into()));
    assert_eq!(value(&params, "DNS_LOOKUP"), "FALSE");

    let (kind, params) = for_policy(&policy(&[], None, None), "/w").unwrap();
    assert_eq!(kind, Profile::Duckdb);
    assert!(SOURCE_PATHS.iter().all(|n| value(&params, n) == "/dev/null"), "a policy without a source reads none");
}

#[test]
fn more_source_paths_than_slots_is_refused_not_widened() {
    let paths: Vec<String> = (0..=SOURCE_PATH_SLOTS).map(|i| format!("/data/f{i}.csv")).collect();
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let err = duckdb_parameters("/bin/w", "/tmp", &refs, None, false).unwrap_err();
    assert!(err.contains("33 files") && err.contains("at most 32"), "{err}");
    assert!(duckdb_parameters("/bin/w", "/tmp", &refs[..SOURCE_PATH_SLOTS], None, false).is_ok());
}

#[test]
fn network_parameters_narrow_by_host() {
    let check = |host: &str, scope: &str, dns: &str| {
        let params = network_parameters("/bin/w", host, 5432).unwrap();
        assert_eq!(names(&params), Profile::Network.parameters().collect::<Vec<_>>());
        let value = |name: &str| params.iter().find(|(n, _)| *n == name).unwrap().1.clone();
        assert_eq!((value("DB_HOST_SCOPE").as_str(), value("DNS_LOOKUP").as_str()), (scope, dns), "host {host}");
        assert_eq!(value("DB_PORT"), "5432");
    };
    check("127.0.0.1", "localhost", "FALSE");
    check("[::1]", "localhost", "FALSE");
    check("::1", "localhost", "FALSE");
    check("localhost", "localhost", "TRUE");
    check("LOCALHOST.", "localhost", "TRUE");
    check("10.1.2.3", "*", "FALSE");
    check("db.example.com", "*", "TRUE");
    assert!(network_parameters("/bin/w", "/tmp/.s.PGSQL.5432", 5432).unwrap_err().contains("Unix socket"));
    assert!(network_parameters("/bin/w", "", 5432).is_err());
    assert!(network_parameters("/bin/w", "db", 0).is_err());
}

#[test]
fn prepare_refuses_what_it_cannot_vouch_for() {
    let (_dir, binary, _scratch) = existing();
    let good = |port: &str, scope: &str, dns: &str| {
        vec![
            ("WORKER_BINARY", binary.clone()),
            ("DB_PORT", port.to_owned()),
            ("DB_HOST_SCOPE", scope.to_owned()),
            ("DNS_LOOKUP", dns.to_owned()),
        ]
    };
    assert!(prepare(Profile::Network, &good("5432", "*", "TRUE")).is_ok());
    let refused = |params: Vec<(&str, String)>, expected: &str| {
        let err = prepare(Profile::Network, &params).unwrap_err();
        assert!(err.contains(expected), "expected {expected:?} in {err:?}");
    };
    refused(good("0", "*", "TRUE"), "TCP port");
    refused(good("+5432", "*", "TRUE"), "TCP port");
    refused(good("65536", "*", "TRUE"), "TCP port");
    refused(good("5432", "10.0.0.1", "TRUE"), "\"localhost\" or \"*\"");
    refused(good("5432", "*", "yes"), "TRUE or FALSE");
    let mut missing = good("5432", "*", "TRUE");
    missing.pop();
    refused(missing, "needs the parameter DNS_LOOKUP");
    let mut twice = good("5432", "*", "TRUE");
    twice.push(("DB_PORT", "5433".to_owned()));
    refused(twice, "passed twice");
    let mut foreign = good("5432", "*", "TRUE");
    foreign.push(("SCRATCH_DIR", "/tmp".to_owned()));
    refused(foreign, "reads no parameter SCRATCH_DIR");
    let mut relative = good("5432", "*", "TRUE");
    relative[0].1 = "polystoreiq-worker".to_owned();
    refused(relative, "absolute path");
    let mut absent = good("5432", "*", "TRUE");
    absent[0].1 = "/nonexistent/polystoreiq-worker".to_owned();
    refused(absent, "cannot be resolved");
    let mut nul = good("5432", "*", "TRUE");
    nul[0].1 = "/bin/a\0b".to_owned();
    refused(nul, "NUL");
}

#[test]
fn prepare_resolves_paths_to_what_seatbelt_matches() {
    let (dir, binary, scratch) = existing();
    let real = std::fs::canonicalize(dir.path()).unwrap();
    let data = real.join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("a.csv"), b"x\n").unwrap();
    let link = real.join("link");
    std::os::unix::fs::symlink(&data, &link).unwrap();
    let through_link = link.join("a.csv");
    let database = link.join("new.duckdb");
    let params =
        duckdb_parameters(&binary, &scratch, &[through_link.to_str().unwrap()], database.to_str(), true).unwrap();
    let prepared = prepare(Profile::Duckdb, &params.iter().map(|(n, v)| (*n, v.clone())).collect::<Vec<_>>()).unwrap();
    let value = |name: &str| prepared.iter().find(|(n, _)| *n == name).unwrap().1.clone();
    assert_eq!(value("SOURCE_PATH_0"), data.join("a.csv").to_str().unwrap(), "a symbolic link is followed");
    assert_eq!(value("DUCKDB_FILE"), data.join("new.duckdb").to_str().unwrap(), "a file to be made: its folder is");
    assert_eq!(value("SOURCE_PATH_1"), "/dev/null");

    let mut root = params.clone();
    root[4].1 = "/".to_owned();
    assert!(prepare(Profile::Duckdb, &root).unwrap_err().contains("root folder"));
    let mut not_dir = params.clone();
    not_dir[1].1 = binary.clone();
    assert!(prepare(Profile::Duckdb, &not_dir).unwrap_err().contains("must name a folder"));
}
