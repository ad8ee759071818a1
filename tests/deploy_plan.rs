//! What the deploy targets of a generated project would run, read from `make -n` without
//! touching AWS: the real commands, in order, for both IaC flavors, and absent strategies
//! skipped with a message.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn generate(dir: &Path, name: &str, strategies: &str, iac: &str) -> PathBuf {
    let out = common::run_in(
        dir,
        &[
            "new",
            name,
            "--yes",
            "--strategies",
            strategies,
            "--iac",
            iac,
        ],
    );
    assert!(out.status.success(), "{:?}", common::text(&out));
    dir.join(name)
}

/// `make -n GOAL` in `project` with a fixed stage and owner: the commands, one per line.
fn plan(project: &Path, goal: &str) -> String {
    let out = Command::new("make")
        .args(["-n", "--no-print-directory", goal])
        .args(["STAGE=prod", "OWNER=dev@example.com", "CONFIRM=yes"])
        .current_dir(project)
        .output()
        .expect("make runs");
    let (stdout, stderr) = common::text(&out);
    assert!(out.status.success(), "make -n {goal}: {stdout}\n{stderr}");
    stdout
}

/// The position of the first line containing `needle`, failing with the plan when absent.
fn at(plan: &str, needle: &str) -> usize {
    plan.find(needle)
        .unwrap_or_else(|| panic!("`{needle}` is not in the plan:\n{plan}"))
}

/// The positions of `steps` in `plan`, failing unless each comes after the one before.
fn in_order<S: AsRef<str>>(plan: &str, steps: &[S]) -> Vec<usize> {
    let positions: Vec<usize> = steps.iter().map(|s| at(plan, s.as_ref())).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "out of order:\n{plan}"
    );
    positions
}

#[test]
fn deploy_all_with_cdk_runs_config_then_strategies_then_cdn_then_frontend() {
    let tmp = tempfile::tempdir().unwrap();
    let project = generate(
        tmp.path(),
        "plan-cdk",
        &common::strategies().join(","),
        "cdk",
    );
    let plan = plan(&project, "deploy-all");
    let positions = in_order(
        &plan,
        &[
            // The stacks read the CDN's origin secret when they deploy: it exists first.
            "infra/origin_secret.py ensure",
            "cdk deploy plan-cdk-prod-config",
            "cargo lambda build --release --arm64 --output-format zip",
            // WAF=on: the web ACL exists before the CDN uses it; WAF=off: it goes only after
            // the CDN stopped using it.
            "infra/waf.py apply",
            "cdk deploy plan-cdk-prod-cdn",
            "infra/waf.py prune",
            "npm --prefix client/web --no-audit --no-fund run build",
            "infra/frontend.py deploy",
            "infra/frontend.py outputs",
        ],
    );
    // The strategies go between the build and the CDN's web ACL, in any order (they run in
    // parallel).
    let services: Vec<&str> = genai_scaffold::strategy::Strategy::all()
        .unwrap()
        .into_iter()
        .map(|s| s.service())
        .collect();
    for service in &services {
        let step = at(&plan, &format!("cdk deploy plan-cdk-prod-{service}"));
        assert!(
            positions[2] < step && step < positions[3],
            "{service}:\n{plan}"
        );
    }
    // cdk synthesizes the whole app for any stack: config and cdn, which hold no function
    // code, use stand-in zips so they deploy before the build; strategies use the build's.
    for (stack, placeholders) in [("config", true), ("realtime-ws", false), ("cdn", true)] {
        let command = plan
            .lines()
            .find(|l| l.contains(&format!("cdk deploy plan-cdk-prod-{stack} ")))
            .unwrap_or_else(|| panic!("no deploy of {stack}:\n{plan}"));
        assert_eq!(
            command.contains("cdk.placeholders"),
            placeholders,
            "{stack}: {command}"
        );
    }
    // Strategies deploy in parallel, as in the original sample.
    let deploys: Vec<String> = services.iter().map(|s| format!("deploy-{s}")).collect();
    let parallel = format!("make -j {} {}", services.len(), deploys.join(" "));
    assert!(plan.contains(&parallel), "{parallel}:\n{plan}");
    assert!(!plan.contains("Skipping"), "{plan}");
    // The build packages the services only, not the local tools.
    assert!(!plan.contains("--package local"), "{plan}");
}

#[test]
fn deploy_all_with_sam_deploys_only_the_strategies_present() {
    let tmp = tempfile::tempdir().unwrap();
    let project = generate(tmp.path(), "plan-sam", "websocket", "sam");
    let plan = plan(&project, "deploy-all");
    in_order(
        &plan,
        &[
            "sam deploy --template-file config.yaml --stack-name plan-sam-prod-config",
            "sam deploy --template-file realtime-ws.yaml --stack-name plan-sam-prod-realtime-ws",
            "sam deploy --template-file build/cdn.json --stack-name plan-sam-prod-cdn",
            "infra/frontend.py deploy",
        ],
    );
    assert!(plan.contains("make -j 1 deploy-realtime-ws\n"), "{plan}");
    assert!(plan.contains("--tags project=plan-sam stage=prod Owner=dev@example.com"));
    assert!(!plan.contains("stream-sse.yaml"), "{plan}");
    assert!(!plan.contains("sync-api.yaml"), "{plan}");
}

#[test]
fn destroy_removes_in_reverse_order_after_emptying_the_bucket() {
    let tmp = tempfile::tempdir().unwrap();
    for (iac, delete) in [
        ("cdk", "cdk destroy --force"),
        ("sam", "sam delete --stack-name"),
    ] {
        let project = generate(tmp.path(), &format!("gone-{iac}"), "sse,rest", iac);
        let plan = plan(&project, "destroy");
        let name = format!("gone-{iac}-prod");
        in_order(
            &plan,
            &[
                "infra/frontend.py empty".to_string(),
                format!("{delete} {name}-cdn"),
                format!("{name}-stream-sse"),
                format!("{name}-sync-api"),
                format!("{delete} {name}-config"),
                // Made outside the stacks (the web ACL by deploy-cdn, the secret by
                // deploy-config), so removed by name; the web ACL once no CDN uses it.
                "infra/waf.py delete".to_string(),
                "infra/origin_secret.py delete".to_string(),
            ],
        );
        assert!(!plan.contains("realtime-ws"), "{iac}: {plan}");
    }
}

#[test]
fn each_part_deploys_on_its_own_and_an_absent_strategy_says_how_to_add_it() {
    let tmp = tempfile::tempdir().unwrap();
    let project = generate(tmp.path(), "parts", "sse", "cdk");
    for (goal, command) in [
        ("deploy-config", "cdk deploy parts-prod-config"),
        ("deploy-stream-sse", "cdk deploy parts-prod-stream-sse"),
        ("deploy-cdn", "cdk deploy parts-prod-cdn"),
        ("deploy-frontend", "infra/frontend.py deploy"),
        ("outputs", "infra/frontend.py outputs"),
    ] {
        at(&plan(&project, goal), command);
    }
    // A rotation: the strategies accept the new secret before the CDN sends it.
    in_order(
        &plan(&project, "rotate-origin-secret"),
        &[
            "infra/origin_secret.py rotate",
            "cdk deploy parts-prod-stream-sse",
            "cdk deploy parts-prod-cdn",
        ],
    );
    // A strategy the project lacks: deploying says how to add it; destroying (as after
    // `genai-scaffold remove rest`) deletes the stage's stack by name (infra/removed.py, whose
    // own tests run it against a fake AWS).
    let out = Command::new("make")
        .args(["deploy-sync-api", "STAGE=prod"])
        .current_dir(&project)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("make runs");
    assert!(!out.status.success(), "deploy-sync-api");
    let (_, stderr) = common::text(&out);
    let says =
        "no services/sync-api. Add that strategy with `genai-scaffold add rest` in this folder.";
    assert!(stderr.contains(says), "deploy-sync-api: {stderr}");
    at(
        &plan(&project, "destroy-sync-api"),
        "python3 infra/removed.py sync-api",
    );
}

/// The infra Makefiles work on their own (`make -C infra/<iac> ...`): they read the project's
/// name and region from its record's top-level answers, not from the `[generator]` table's
/// `name`, and each CDK deploy synthesizes into a folder of its own, so the strategies'
/// parallel deploys never share the CLI's locked output folder.
#[test]
fn the_infra_makefiles_alone_take_the_projects_name_from_its_record() {
    let tmp = tempfile::tempdir().unwrap();
    for (iac, expected) in [
        (
            "sam",
            "--stack-name alone-sam-dev-config --region us-east-1",
        ),
        ("cdk", "cdk deploy alone-cdk-dev-config --exclusively"),
    ] {
        let project = generate(
            tmp.path(),
            &format!("alone-{iac}"),
            "websocket,sse,rest",
            iac,
        );
        let out = Command::new("make")
            .args(["-n", "deploy", "STACK=config"])
            .current_dir(project.join("infra").join(iac))
            .env_remove("PROJECT")
            .env_remove("AWS_REGION")
            .output()
            .expect("make runs");
        let (stdout, stderr) = common::text(&out);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.contains(expected), "{iac}: {stdout}");
        assert!(!stdout.contains("genai-scaffold"), "{iac}: {stdout}");
        if iac == "cdk" {
            assert!(stdout.contains("--output cdk.deploy/config"), "{stdout}");
        } else {
            assert!(
                stdout.contains("--tags project=alone-sam stage=dev Owner="),
                "{stdout}"
            );
        }
    }
}

/// `make clean` removes what builds and checks leave in the project, for real, and keeps the
/// sources.
#[test]
fn clean_removes_local_build_outputs_and_keeps_the_sources() {
    let tmp = tempfile::tempdir().unwrap();
    let project = generate(tmp.path(), "clean-app", "websocket,sse,rest", "cdk");
    let outputs = [
        "target/debug/left",
        "client/web/dist/index.html",
        "infra/cdk/cdk.out/manifest.json",
        "infra/cdk/cdk.deploy/config/manifest.json",
        "infra/cdk/cdk.placeholders/realtime-ws/bootstrap.zip",
    ];
    for file in outputs {
        let path = project.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "x").unwrap();
    }
    let out = Command::new("make")
        .arg("clean")
        .current_dir(&project)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("make runs");
    assert!(out.status.success(), "{:?}", common::text(&out));
    for file in outputs {
        assert!(!project.join(file).exists(), "{file} is still there");
    }
    for kept in [
        "Cargo.toml",
        "Cargo.lock",
        "client/web/src/App.tsx",
        "infra/cdk/bin/app.ts",
    ] {
        assert!(project.join(kept).exists(), "{kept} was removed");
    }
}
