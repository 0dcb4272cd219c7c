//! The configuration is documented once, in the README's table, and three things must agree
//! with it: the variables each binary actually reads (its `--help`), the environment each
//! service gets in docker-compose.yml, and the compose images, which must all be pinned.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const BINARIES: [&str; 6] = ["extract-worker", "cleanup-worker", "scheduler", "outbox-relay", "jobctl", "lol-ocr"];
/// What the table's `all` stands for: the binaries built on the worker runtime.
const ALL: [&str; 5] = ["extract-worker", "cleanup-worker", "scheduler", "outbox-relay", "jobctl"];
const SERVICES: [&str; 4] = ["extract-worker", "cleanup-worker", "scheduler", "outbox-relay"];
/// Variables read by libraries rather than by our flags (so absent from `--help`).
const READ_BY_LIBRARIES: [&str; 4] = ["RUST_LOG", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "OMP_THREAD_LIMIT"];

/// Variables that stand for each other (a password, or the file holding it): a deployment sets
/// one of each pair.
const ALTERNATIVES: [(&str, &str); 1] = [("NATS_PASSWORD", "NATS_PASSWORD_FILE")];

fn repo_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `variable → binaries` from the rows of the README's configuration table:
/// ``| `NAME` | default | binaries | meaning |``.
fn documented() -> BTreeMap<String, BTreeSet<String>> {
    let readme = repo_file("README.md");
    let table = readme
        .split("<!-- configuration-table:start -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- configuration-table:end -->").next())
        .expect("README has the configuration table markers");
    let mut variables = BTreeMap::new();
    for row in table.lines().filter(|line| line.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`').to_owned();
        let binaries: BTreeSet<String> = cells[3]
            .split(',')
            .map(|b| b.trim().trim_matches('`'))
            .flat_map(|b| if b == "all" { ALL.to_vec() } else { vec![b] })
            .map(str::to_owned)
            .collect();
        for binary in &binaries {
            assert!(BINARIES.contains(&binary.as_str()), "README row {name}: unknown binary {binary}");
        }
        assert!(variables.insert(name.clone(), binaries).is_none(), "README documents {name} twice");
    }
    assert!(!variables.is_empty(), "no rows in the configuration table");
    variables
}

fn documented_for(binary: &str) -> BTreeSet<String> {
    documented().into_iter().filter(|(_, users)| users.contains(binary)).map(|(name, _)| name).collect()
}

/// Every `[env: NAME=` in the binary's help, subcommands included.
fn read_by(binary: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut pages = vec![vec!["--help".to_owned()]];
    while let Some(args) = pages.pop() {
        let output =
            std::process::Command::new(testkit::binary(binary)).args(&args).env_clear().output().expect("run --help");
        let help = String::from_utf8_lossy(&output.stdout).to_string();
        for part in help.split("[env: ").skip(1) {
            // `[env: NAME=value]`, or `[env: NAME]` where the value is hidden.
            names.insert(part.split(['=', ']']).next().expect("name").to_owned());
        }
        // Descend into subcommands listed under "Commands:".
        if let Some(commands) = help.split("Commands:\n").nth(1) {
            for line in commands.lines().take_while(|l| l.starts_with("  ")) {
                let command = line.split_whitespace().next().expect("command name");
                if command != "help" {
                    let mut sub = args[..args.len() - 1].to_vec();
                    sub.extend([command.to_owned(), "--help".to_owned()]);
                    pages.push(sub);
                }
            }
        }
    }
    names
}

fn compose() -> serde_yaml::Value {
    let mut document: serde_yaml::Value =
        serde_yaml::from_str(&repo_file("docker-compose.yml")).expect("compose is YAML");
    document.apply_merge().expect("merge keys resolve");
    document
}

#[test]
fn each_binary_reads_exactly_the_documented_variables() {
    for binary in BINARIES {
        let documented: BTreeSet<String> =
            documented_for(binary).into_iter().filter(|name| !READ_BY_LIBRARIES.contains(&name.as_str())).collect();
        assert_eq!(read_by(binary), documented, "{binary}: --help and the README's table disagree");
    }
}

#[test]
fn compose_gives_each_service_the_documented_variables() {
    let compose = compose();
    for service in SERVICES {
        let environment = &compose["services"][service]["environment"];
        let keys: BTreeSet<String> = environment
            .as_mapping()
            .unwrap_or_else(|| panic!("{service} has an environment mapping"))
            .keys()
            .map(|key| key.as_str().expect("string key").to_owned())
            .collect();
        let mut expected = documented_for(service);
        for (one, other) in ALTERNATIVES {
            let unused = if keys.contains(one) { other } else { one };
            expected.remove(unused);
        }
        assert_eq!(keys, expected, "{service}: compose environment and README disagree");
    }
}

/// The OCR service runs `lol-ocr serve`, which needs none of `lol-ocr extract`'s S3 variables:
/// every key it gets is documented for `lol-ocr`, and it gets every `serve` setting.
#[test]
fn compose_gives_the_ocr_service_documented_variables() {
    let compose = compose();
    let environment = compose["services"]["lol-ocr"]["environment"].as_mapping().expect("lol-ocr environment");
    let keys: BTreeSet<String> = environment.keys().map(|k| k.as_str().expect("string key").to_owned()).collect();
    let documented = documented_for("lol-ocr");
    assert!(keys.is_subset(&documented), "undocumented: {:?}", keys.difference(&documented).collect::<Vec<_>>());
    let serve: BTreeSet<String> = documented.into_iter().filter(|name| name.starts_with("OCR_")).collect();
    assert!(serve.is_subset(&keys), "lol-ocr service lacks {:?}", serve.difference(&keys).collect::<Vec<_>>());
}

#[test]
fn every_compose_image_is_pinned() {
    let compose = compose();
    let services = compose["services"].as_mapping().expect("services");
    for (name, service) in services {
        if let Some(image) = service["image"].as_str() {
            let tag = image.rsplit_once(':').map(|(_, tag)| tag);
            assert!(
                matches!(tag, Some(tag) if tag != "latest" && tag.chars().any(|c| c.is_ascii_digit())),
                "{name:?}: image {image} is not pinned to a version"
            );
        } else {
            assert!(service["build"].is_mapping(), "{name:?} has neither a pinned image nor a build");
        }
    }
}
