//! The deployment examples agree with the binary they deploy: every shardcar
//! configuration in a ConfigMap loads, every shardcar command line parses,
//! probes hit the admin port's `/healthz` and `/readyz`, the grace period covers
//! preStop plus the drain deadline, scrape annotations and ServiceMonitors point
//! at the admin port. (Schemas are checked in CI by kubernetes-validate.)

use serde::Deserialize;
use serde_yaml_ng::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

use shardcar::config::Config;
use shardcar::engine::EngineConfig;
use shardcar::up::{parse_duration, take_admin_flag, AdminAddr};

fn manifests() -> Vec<(PathBuf, Vec<Value>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/k8s");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 3,
        "sidecar, engine StatefulSet and Redis examples"
    );
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let docs = serde_yaml_ng::Deserializer::from_str(&text)
                .map(|doc| Value::deserialize(doc).unwrap())
                .filter(|doc| !doc.is_null())
                .collect();
            (path, docs)
        })
        .collect()
}

fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or_default()
}

fn str_of(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// The Pod template of a workload.
fn pod_template(doc: &Value) -> Option<&Value> {
    matches!(kind(doc), "Deployment" | "StatefulSet").then(|| &doc["spec"]["template"])
}

fn is_shardcar(container: &Value) -> bool {
    str_of(&container["image"]).contains("shardcar")
}

fn args(container: &Value) -> Vec<String> {
    container["args"]
        .as_sequence()
        .map(|s| s.iter().map(|a| str_of(a).to_string()).collect())
        .unwrap_or_default()
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// The text of the file `path` a container reads from a ConfigMap volume.
fn mounted_file(docs: &[Value], pod: &Value, container: &Value, path: &str) -> String {
    for mount in container["volumeMounts"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        let Some(key) = path
            .strip_prefix(str_of(&mount["mountPath"]))
            .map(|k| k.trim_start_matches('/'))
        else {
            continue;
        };
        let volume = pod["spec"]["volumes"]
            .as_sequence()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == mount["name"])
            .expect("mounted volume");
        let name = &volume["configMap"]["name"];
        let map = docs
            .iter()
            .find(|d| kind(d) == "ConfigMap" && &d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("ConfigMap {name:?} is not in the file"));
        return str_of(&map["data"][key]).to_string();
    }
    panic!("{path} is not mounted from a ConfigMap");
}

/// Checks the probes, ports and annotations of a shardcar container; returns
/// the drain deadline in seconds (0 for an engine).
fn check_container(docs: &[Value], pod: &Value, c: &Value, file: &str) -> f64 {
    let args = args(c);
    let admin = match args.first().map(String::as_str) {
        Some("engine") => {
            let (admin, rest) = take_admin_flag(&args[1..]).unwrap();
            EngineConfig::from_args(&rest).unwrap_or_else(|e| panic!("{file}: {e}"));
            admin
        }
        Some(role @ ("up" | "proxy")) => {
            let path = flag(&args, "-c").expect("-c CONFIG");
            let yaml = mounted_file(docs, pod, c, &path);
            Config::from_yaml(&yaml).unwrap_or_else(|e| panic!("{file}: {path}: {e}"));
            if role == "proxy" {
                proxy_flags_parse(&args, &yaml, file);
            }
            flag(&args, "--admin").expect("--admin").parse().unwrap()
        }
        other => panic!("{file}: unknown role {other:?}"),
    };
    let AdminAddr::Given(addr) = admin else {
        panic!("{file}: the admin port must listen on the Pod's IP for probes and scrapes");
    };
    assert!(addr.starts_with("0.0.0.0:"), "{file}: --admin {addr}");
    let port: u64 = addr.rsplit(':').next().unwrap().parse().unwrap();
    let named = c["ports"]
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "admin")
        .unwrap_or_else(|| panic!("{file}: no port named admin"));
    assert_eq!(named["containerPort"].as_u64(), Some(port), "{file}");
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        assert_eq!(
            str_of(&c[probe]["httpGet"]["path"]),
            path,
            "{file}: {probe}"
        );
        assert_eq!(
            str_of(&c[probe]["httpGet"]["port"]),
            "admin",
            "{file}: {probe}"
        );
    }
    let notes = &pod["metadata"]["annotations"];
    assert_eq!(str_of(&notes["prometheus.io/scrape"]), "true", "{file}");
    assert_eq!(
        str_of(&notes["prometheus.io/port"]),
        port.to_string(),
        "{file}"
    );
    assert_eq!(str_of(&notes["prometheus.io/path"]), "/metrics", "{file}");
    assert!(
        c["resources"]["requests"]["memory"].is_string(),
        "{file}: requests"
    );
    assert_eq!(
        c["securityContext"]["runAsUser"].as_u64(),
        Some(10001),
        "{file}: the image's user"
    );
    flag(&args, "--drain-timeout").map_or(0.0, |d| parse_duration(&d).unwrap().as_secs_f64())
}

/// `shardcar proxy ARGS -t` with the ConfigMap's text: the binary accepts the
/// flags and the file.
fn proxy_flags_parse(args: &[String], yaml: &str, file: &str) {
    let cfg = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(cfg.path(), yaml).unwrap();
    let mut args = args.to_vec();
    let at = args.iter().position(|a| a == "-c").unwrap() + 1;
    args[at] = cfg.path().display().to_string();
    args.push("-t".into());
    let out = Command::new(env!("CARGO_BIN_EXE_shardcar"))
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{file}: shardcar {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pre_stop_sleep(c: &Value) -> f64 {
    let command = &c["lifecycle"]["preStop"]["exec"]["command"];
    match command
        .as_sequence()
        .map(|s| s.iter().map(str_of).collect::<Vec<_>>())
    {
        Some(words) if words.first() == Some(&"sleep") => words[1].parse().unwrap(),
        _ => 0.0,
    }
}

#[test]
fn shardcar_containers_agree_with_the_binary() {
    let mut checked = 0;
    for (path, docs) in manifests() {
        let file = path.display().to_string();
        for doc in &docs {
            let Some(pod) = pod_template(doc) else {
                continue;
            };
            let grace = pod["spec"]["terminationGracePeriodSeconds"]
                .as_f64()
                .unwrap_or(30.0);
            let containers = pod["spec"]["containers"].as_sequence().unwrap();
            for c in containers.iter().filter(|c| is_shardcar(c)) {
                let drain = check_container(&docs, pod, c, &file);
                let needed = pre_stop_sleep(c) + drain;
                assert!(
                    grace > needed,
                    "{file}: terminationGracePeriodSeconds {grace} must exceed preStop + drain = {needed}"
                );
                if drain > 0.0 && containers.len() > 1 {
                    assert!(
                        pre_stop_sleep(c) > 0.0,
                        "{file}: a sidecar sleeps in preStop"
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 4, "only {checked} shardcar containers checked");
}

#[test]
fn service_monitors_select_a_service_with_an_admin_port_over_shardcar_pods() {
    let mut monitors = 0;
    for (path, docs) in manifests() {
        let file = path.display().to_string();
        for monitor in docs.iter().filter(|d| kind(d) == "ServiceMonitor") {
            let wanted = monitor["spec"]["selector"]["matchLabels"]
                .as_mapping()
                .unwrap();
            let service = docs
                .iter()
                .filter(|d| kind(d) == "Service")
                .find(|s| wanted.iter().all(|(k, v)| &s["metadata"]["labels"][k] == v))
                .unwrap_or_else(|| panic!("{file}: no Service matches {wanted:?}"));
            for endpoint in monitor["spec"]["endpoints"].as_sequence().unwrap() {
                assert_eq!(str_of(&endpoint["path"]), "/metrics", "{file}");
                let port = &endpoint["port"];
                let ports = service["spec"]["ports"].as_sequence().unwrap();
                assert!(
                    ports.iter().any(|p| &p["name"] == port),
                    "{file}: port {port:?}"
                );
            }
            let selector = service["spec"]["selector"].as_mapping().unwrap();
            let pods = docs.iter().filter_map(pod_template).filter(|pod| {
                selector
                    .iter()
                    .all(|(k, v)| &pod["metadata"]["labels"][k] == v)
            });
            let with_shardcar = pods.filter(|pod| {
                pod["spec"]["containers"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .any(is_shardcar)
            });
            assert!(
                with_shardcar.count() > 0,
                "{file}: the Service selects no shardcar Pod"
            );
            monitors += 1;
        }
    }
    assert!(monitors >= 2);
}

#[test]
fn the_container_image_config_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/docker/shardcar.yml");
    let cfg = Config::load(&path).unwrap();
    assert_eq!(cfg.pools[0].listen.to_string(), "0.0.0.0:22121");
    let dockerfile = std::fs::read_to_string(path.with_file_name("../Dockerfile")).unwrap();
    assert!(dockerfile.contains("deploy/docker/shardcar.yml"));
    assert!(dockerfile.contains("USER 10001"));
    assert!(dockerfile.contains("EXPOSE 22121 9722"));
}

#[test]
fn the_readme_documents_every_metric() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for def in shardcar::telemetry::METRICS {
        assert!(
            readme.contains(&format!("`{}`", def.name)),
            "README.md does not document {}",
            def.name
        );
    }
}
