//! Insta snapshots: the file list of every combination, and every byte of the all-strategies
//! CDK and SAM projects, so any change to what users get shows up in review.

mod common;

use genai_scaffold::template::RenderedFile;

fn render(strategies: &str, iac: &str) -> Vec<RenderedFile> {
    genai_scaffold::render(&common::answers(strategies, iac, "snap-app")).unwrap()
}

#[test]
fn file_list_of_every_combination() {
    for (strategies, iac) in common::combinations() {
        let listing: String = render(&strategies, iac)
            .iter()
            .map(|f| {
                let mode = if f.executable { "x" } else { "-" };
                format!("{mode} {}\n", f.path.display())
            })
            .collect();
        let name = format!("files-{}-{iac}", strategies.replace(',', "-"));
        insta::assert_snapshot!(name, listing);
    }
}

#[test]
fn full_contents_of_the_all_strategies_projects() {
    for iac in ["cdk", "sam"] {
        let mut all = String::new();
        for f in render(&common::strategies().join(","), iac) {
            // Lock files are copied verbatim and pinned by their own review; list their size.
            if f.path.ends_with("Cargo.lock") || f.path.ends_with("package-lock.json") {
                all.push_str(&format!(
                    "=== {} ({} bytes, verbatim)\n",
                    f.path.display(),
                    f.contents.len()
                ));
                continue;
            }
            all.push_str(&format!("=== {}\n", f.path.display()));
            all.push_str(&String::from_utf8_lossy(&f.contents));
        }
        insta::assert_snapshot!(format!("contents-all-{iac}"), all);
    }
}

/// The matrix (tests/matrix.rs) runs the Rust and web checks once per strategy subset, in the
/// CDK project, and only the infrastructure checks in both flavors. That is sound because the
/// flavors' projects are the same but for `infra/<iac>`, the record of the answers, the README
/// and the Makefile's `IAC :=` line, none of which those checks read.
#[test]
fn the_two_flavors_differ_only_in_their_infrastructure() {
    use std::collections::BTreeMap;
    for strategies in common::subsets() {
        let tree = |iac| -> BTreeMap<String, (Vec<u8>, bool)> {
            render(&strategies, iac)
                .into_iter()
                .map(|f| (f.path.display().to_string(), (f.contents, f.executable)))
                .collect()
        };
        let (cdk, sam) = (tree("cdk"), tree("sam"));
        let differing: Vec<&String> = cdk
            .keys()
            .chain(sam.keys())
            .filter(|path| cdk.get(*path) != sam.get(*path))
            .filter(|path| {
                let infra = path.starts_with("infra/cdk/") || path.starts_with("infra/sam/");
                // The lock records the hashes of the rest, so it differs whenever they do.
                let read_by_neither = [
                    "README.md",
                    ".genai-scaffold.toml",
                    ".genai-scaffold.lock",
                    "Makefile",
                ]
                .contains(&path.as_str());
                !infra && !read_by_neither
            })
            .collect();
        assert!(
            differing.is_empty(),
            "{strategies}: the CDK and SAM projects also differ in {differing:?}, so the matrix must \
             run the Rust and web checks in both flavors"
        );
        let lines = |tree: &BTreeMap<String, (Vec<u8>, bool)>| -> Vec<String> {
            String::from_utf8_lossy(&tree["Makefile"].0)
                .lines()
                .map(str::to_string)
                .collect()
        };
        let changed: Vec<(String, String)> = lines(&cdk)
            .into_iter()
            .zip(lines(&sam))
            .filter(|(a, b)| a != b)
            .collect();
        assert_eq!(
            changed,
            [("IAC := cdk".to_string(), "IAC := sam".to_string())],
            "{strategies}: the Makefiles differ in more than the IaC flavor"
        );
        assert_eq!(lines(&cdk).len(), lines(&sam).len());
    }
}

/// The matrix's projects share one cargo target folder and are kept between runs, so a
/// workspace crate built in one project is reused in the others: cargo names a workspace member
/// by its path inside the workspace and sees only file times. That reuse is sound because a
/// member's files (under `crates/`, `services/` and `dev/`) are the same bytes in every project
/// that has it, whatever its name and strategies, and no code compiles in its project's path.
#[test]
fn a_workspace_crate_is_the_same_in_every_project_that_has_it() {
    use std::collections::BTreeMap;
    let member = |path: &str| {
        ["crates/", "services/", "dev/"]
            .iter()
            .any(|p| path.starts_with(p))
    };
    let mut seen: BTreeMap<String, (Vec<u8>, String)> = BTreeMap::new();
    for strategies in common::subsets() {
        let name = format!("app-{}", strategies.replace(',', "-"));
        for file in genai_scaffold::render(&common::answers(&strategies, "cdk", &name)).unwrap() {
            let path = file.path.display().to_string();
            if !member(&path) {
                continue;
            }
            assert!(
                !String::from_utf8_lossy(&file.contents).contains("CARGO_MANIFEST_DIR\")"),
                "{path} compiles in its project's path; find it when it runs (local::project_root)"
            );
            let first = seen
                .entry(path.clone())
                .or_insert_with(|| (file.contents.clone(), strategies.clone()));
            assert!(
                first.0 == file.contents,
                "{path} differs between the {} and {strategies} projects, so the matrix's shared \
                 target folder could run the one's build in the other",
                first.1
            );
        }
    }
    assert!(seen.keys().any(|p| p.starts_with("services/")));
}

/// The SAM template carries the CloudFront router inline (a SAM project has no infra/cdk); it
/// must stay the CDK router's code, only its rules filled in by `!Sub` instead of by the stack.
#[test]
fn the_sam_router_is_the_cdk_routers_code() {
    let template = common::repo().join("template/infra");
    let cdk = std::fs::read_to_string(template.join("cdk/functions/router.js")).unwrap();
    let sam = std::fs::read_to_string(template.join("sam/cdn.yaml")).unwrap();
    let code = &cdk[cdk.find("var ROUTES").expect("router.js declares ROUTES")..];
    let inline: String = sam
        .lines()
        .skip_while(|l| l.trim() != "FunctionCode: !Sub |")
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with("        "))
        .map(|l| format!("{}\n", l.get(8..).unwrap_or_default()))
        .collect();
    assert_eq!(
        inline.trim_end(),
        code.replace("'__ROUTES__'", "'${Routes}'").trim_end(),
        "infra/sam/cdn.yaml's Router differs from infra/cdk/functions/router.js"
    );
}
