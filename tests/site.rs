//! `ocp index site`: the component directory made from a real index (a git repository that
//! real `ocp publish` runs wrote, with real signatures and tarballs), checked as files, in
//! real Osiris (its OML validator reads the example snippets), and in a real browser
//! (Debian's chromium, headless, driven by playwright-core from `tests/browser/`, against the
//! site served from 127.0.0.1).

mod common;
#[path = "common/http.rs"]
mod http;
#[path = "common/python.rs"]
mod python;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{
    Sandbox, assert_matches_schema, assert_same_tree, git, run, run_ok, set_version, stderr,
    stdout, tree_state,
};

/// 2026-06-01: the site's "today", so every run renders the same bytes.
const EPOCH: &str = "1780272000";

/// The README of the hostile package: every payload must stay text. Links and images point
/// at `{base}/pwned-*` on the test's own server, so a payload that fired would show in its
/// request log.
const HOSTILE_README: &str = r#"# Evil extractor

<script>alert('readme-script')</script>

<img src="{base}/pwned-img.png" onerror="alert('readme-onerror')">

<p onmouseover="alert('readme-hover')">hover me</p>

[click me](javascript:alert('readme-link'))

![tracker]({base}/pwned-pixel.png)

<a href="javascript:alert('raw-link')">raw link</a>

<iframe src="{base}/pwned-frame.html"></iframe>
"#;

const HOSTILE_TITLE: &str = r#"<img src=x onerror=alert("spec")>"#;

/// A sandbox with a key and an index (made by `ocp index init`) that real publishes wrote:
///
/// - `shopify.extractor`: 0.1.0 (yanked) and 1.1.0;
/// - `postgres.writer`: Osiris `>=0.5.5,<1.0.0`;
/// - `duck.processor`;
/// - `old.processor`: its only version yanked;
/// - `evil.extractor`: a hostile README and spec title.
struct World {
    sandbox: Sandbox,
    index: PathBuf,
    key_id: String,
}

impl World {
    fn new(base: &str) -> World {
        let world = World::empty();
        let shopify = world.package("shopify.extractor", &[]);
        world.publish(&shopify);
        set_version(&shopify, "1.1.0");
        world.publish(&shopify);
        world.yank("shopify-osiris@0.1.0");
        let postgres = world.package("postgres.writer", &["--osiris", ">=0.5.5,<1.0.0"]);
        world.publish(&postgres);
        let duck = world.package("duck.processor", &[]);
        world.publish(&duck);
        let old = world.package("old.processor", &[]);
        world.publish(&old);
        world.yank("old-osiris@0.1.0");
        let evil = world.package("evil.extractor", &[]);
        fs::write(
            evil.join("README.md"),
            HOSTILE_README.replace("{base}", base),
        )
        .expect("write the README");
        let spec = evil.join("src/evil_osiris/spec.yaml");
        let text = fs::read_to_string(&spec).expect("read the spec");
        let title = text
            .lines()
            .find(|line| line.starts_with("title:"))
            .expect("a title")
            .to_owned();
        fs::write(
            &spec,
            text.replacen(&title, &format!("title: '{HOSTILE_TITLE}'"), 1),
        )
        .expect("write the spec");
        world.publish(&evil);
        world
    }

    /// A key and an index with nothing published yet.
    fn empty() -> World {
        let sandbox = Sandbox::new();
        let key =
            run_ok(
                sandbox
                    .ocp()
                    .args(["key", "generate", "--no-password", "--format", "json"]),
            );
        let key_id = json(&key)["key_id"].as_str().expect("a key id").to_owned();
        let index = sandbox.dir.path().join("index");
        run_ok(sandbox.ocp().args(["index", "init"]).arg(&index));
        World {
            sandbox,
            index,
            key_id,
        }
    }

    fn package(&self, component: &str, extra: &[&str]) -> PathBuf {
        let family = component.split('.').next().expect("a family");
        let root = self.sandbox.work().join(format!("{family}-osiris"));
        run_ok(
            self.sandbox
                .ocp()
                .args(["new", component, "--author", "Jane Doe", "--path"])
                .arg(&root)
                .args(extra),
        );
        root
    }

    fn publish(&self, root: &Path) {
        run_ok(
            self.sandbox
                .ocp()
                .args(["publish", "--path"])
                .arg(root)
                .arg("--index")
                .arg(&self.index),
        );
    }

    fn yank(&self, spec: &str) {
        run_ok(
            self.sandbox
                .ocp()
                .args(["yank", spec, "--index"])
                .arg(&self.index),
        );
    }

    /// `ocp index site --index <index> --out <out> <extra>` on the fixed date.
    fn site(&self, out: &Path, extra: &[&str]) -> Output {
        run(self
            .sandbox
            .ocp()
            .env("SOURCE_DATE_EPOCH", EPOCH)
            .args(["index", "site", "--index"])
            .arg(&self.index)
            .arg("--out")
            .arg(out)
            .args(extra))
    }

    fn out(&self, name: &str) -> PathBuf {
        self.sandbox.dir.path().join(name)
    }
}

fn page(out: &Path, relative: &str) -> String {
    fs::read_to_string(out.join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(output))
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", stdout(output), stderr(output)))
}

/// The text of the first `<pre class="snippet">` after `label` on a page, unescaped.
fn snippet(html: &str, label: &str) -> String {
    let at = html.find(label).unwrap_or_else(|| panic!("no `{label}`"));
    let rest = &html[at..];
    let start = rest.find("<code>").expect("a code block") + "<code>".len();
    let end = rest.find("</code>").expect("the end of the block");
    rest[start..end]
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

#[test]
fn the_site_shows_every_component_with_its_details_and_keeps_hostile_text_inert() {
    let world = World::new("http://127.0.0.1:9");
    let out = world.out("site");
    let output = world.site(
        &out,
        &[
            "--format",
            "json",
            "--index-url",
            "https://example.com/ocp-index.git",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report = json(&output);
    assert_matches_schema(ocp::schemas::SITE_REPORT, &report);
    assert_eq!(report["packages"], 5, "{report:#}");
    assert_eq!(report["components"], 5, "{report:#}");
    assert_eq!(report["unchanged"], 0, "{report:#}");
    assert_eq!(report["problems"], serde_json::json!([]), "{report:#}");

    let shopify = page(&out, "components/shopify.extractor.html");
    // The configuration table, with the secret and the connection fields marked.
    let api_key = shopify
        .split("<tr")
        .find(|row| row.contains("<code>api_key</code>"))
        .expect("an api_key row");
    assert!(api_key.contains("class=\"secret\""), "{api_key}");
    assert!(api_key.contains("badge-secret"), "{api_key}");
    assert!(api_key.contains("badge-connection"), "{api_key}");
    let resource = shopify
        .split("<tr")
        .find(|row| row.contains("<code>resource</code>"))
        .expect("a resource row");
    assert!(!resource.contains("secret"), "{resource}");
    // Install command, versions (the yanked one marked), verified signatures.
    assert!(
        shopify.contains("ocp install shopify.extractor --index https://example.com/ocp-index.git")
    );
    let yanked = shopify
        .split("<tr")
        .find(|row| row.contains("<td>0.1.0 <span class=\"badge badge-yanked\">yanked</span>"))
        .expect("0.1.0 marked yanked");
    assert!(yanked.contains("class=\"yanked\""), "{yanked}");
    assert_eq!(
        shopify.matches("✓ verified").count(),
        2,
        "both versions verified"
    );
    assert!(
        shopify.contains("shopify-osiris 1.1.0"),
        "the newest installable version is featured"
    );
    // Owners with key ids, the compatibility matrix, README and changelog.
    assert!(
        shopify.contains(&format!("<li><code>{}</code>", world.key_id)),
        "the owner's key id"
    );
    assert!(shopify.contains("<th>Osiris 0.5.7</th>"));
    assert!(shopify.contains("This index records no test results"));
    assert!(shopify.contains("id=\"readme\""));
    assert!(shopify.contains("id=\"changelog\""));

    // The Osiris range decides compatibility: postgres.writer needs >=0.5.5.
    let postgres = page(&out, "components/postgres.writer.html");
    let matrix = &postgres[postgres.find("class=\"matrix\"").expect("a matrix")..];
    let cells: Vec<&str> = matrix
        .split("<td class=\"")
        .skip(1)
        .take(7)
        .map(|cell| &cell[..cell.find('"').expect("a class")])
        .collect();
    assert_eq!(cells, ["no", "no", "no", "no", "fits", "fits", "fits"]);
    assert!(!page(&out, "browse/osiris-0.5.3.html").contains("postgres.writer"));
    assert!(page(&out, "browse/osiris-0.5.7.html").contains("postgres.writer"));
    assert!(page(&out, "browse/status-yanked.html").contains("old.processor"));
    assert!(page(&out, "browse/mode-write.html").contains("postgres.writer"));
    assert!(page(&out, "browse/all.html").contains("evil.extractor"));
    let search = page(&out, "search-index.js");
    assert!(
        search.starts_with("window.OCP_SEARCH_INDEX = {"),
        "{search}"
    );
    assert!(search.contains("\"n\":\"postgres.writer\""), "{search}");

    // Hostile content: only ocp's own script tags, every payload escaped.
    let evil = page(&out, "components/evil.extractor.html");
    assert_eq!(
        evil.matches("<script").count(),
        1,
        "only ocp's script:\n{evil}"
    );
    assert!(evil.contains("<script src=\"../assets/search.js\"></script>"));
    // In the README every `<` that is not escaped opens a tag the sanitizer allows, and no
    // tag carries a source, a handler or a script link.
    let readme = &evil[evil.find("id=\"readme\"").expect("a README")..];
    let readme = &readme[..readme.find("</section>").expect("its end")];
    for tag in readme.split('<').skip(1) {
        let tag = &tag[..tag.find('>').expect("a closed tag")];
        let name = tag
            .trim_start_matches('/')
            .split([' ', '>'])
            .next()
            .unwrap_or_default();
        assert!(
            [
                "a", "p", "h2", "h3", "code", "pre", "em", "strong", "section"
            ]
            .contains(&name),
            "<{tag}> survived:\n{readme}"
        );
        for attribute in [" on", "src=", "javascript:", "style="] {
            assert!(!tag.contains(attribute), "<{tag}> survived:\n{readme}");
        }
    }
    assert!(
        evil.contains("&lt;script&gt;alert('readme-script')&lt;/script&gt;"),
        "{evil}"
    );
    assert!(
        evil.contains("&#60;img src=x onerror=alert(&#34;spec&#34;)&#62;"),
        "{evil}"
    );
    assert!(evil.contains("Content-Security-Policy"));
}

#[test]
fn a_second_run_rewrites_only_what_changed_and_removes_what_is_gone() {
    let world = World::new("http://127.0.0.1:9");
    let out = world.out("site");
    let first = json(&world.site(&out, &["--format", "json"]));
    let pages = first["pages"].as_u64().expect("pages");
    let again = world.site(&out, &["--format", "json"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let again = json(&again);
    assert_eq!(again["written"], 0, "{again:#}");
    assert_eq!(again["unchanged"].as_u64(), Some(pages), "{again:#}");

    // Fewer Osiris releases: their list pages go, pages that show releases change.
    let fewer = json(&world.site(
        &out,
        &["--format", "json", "--osiris-versions", "0.5.6,0.5.7"],
    ));
    assert_eq!(fewer["removed"], 5, "{fewer:#}");
    assert!(!out.join("browse/osiris-0.5.1.html").exists());
    assert!(out.join("browse/osiris-0.5.7.html").exists());
    assert!(fewer["written"].as_u64().expect("written") > 0);
}

#[test]
fn a_folder_that_is_not_a_site_is_refused_and_left_alone() {
    let world = World::empty();
    let out = world.out("precious");
    fs::create_dir_all(out.join("notes")).expect("mkdir");
    fs::write(out.join("notes/todo.txt"), "keep me").expect("write");
    let before = tree_state(&out);
    let output = world.site(&out, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    let refusal = format!(
        "error: `{}` is not empty and holds no site made by ocp",
        out.display()
    );
    assert!(text.contains(&refusal), "{text}");
    assert!(
        text.contains("help: choose a new or empty directory"),
        "{text}"
    );
    assert_same_tree("the folder", &before, &tree_state(&out));

    // A file where the folder should be.
    let file = world.out("a-file");
    fs::write(&file, "x").expect("write");
    let output = world.site(&file, &[]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("is not a directory"), "{text}");
    assert!(
        text.contains("help: name a directory with `--out DIR`"),
        "{text}"
    );
    assert_eq!(fs::read_to_string(&file).expect("read"), "x");

    // A bad `--osiris-versions` is refused before anything is written.
    let fresh = world.out("fresh");
    let output = world.site(&fresh, &["--osiris-versions", "0.5.7,banana"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains("error: invalid `--osiris-versions`"),
        "{text}"
    );
    assert!(text.contains("`banana` is not an Osiris version"), "{text}");
    assert!(!fresh.exists(), "nothing was written");
}

#[test]
fn a_doctored_site_record_cannot_remove_files_outside_the_site() {
    let world = World::empty();
    let out = world.out("site");
    assert!(world.site(&out, &[]).status.success());
    let victim = world.sandbox.dir.path().join("victim.txt");
    fs::write(&victim, "keep me").expect("write");
    let record = out.join(".ocp-site.json");
    let mut doctored: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&record).expect("read")).expect("json");
    doctored["files"].as_array_mut().expect("files").extend([
        serde_json::json!("../victim.txt"),
        serde_json::json!(victim.display().to_string()),
    ]);
    fs::write(&record, doctored.to_string()).expect("write");
    let output = world.site(&out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(fs::read_to_string(&victim).expect("still there"), "keep me");
}

#[test]
fn tampered_tarballs_and_signatures_are_shown_as_such() {
    let world = World::empty();
    let shopify = world.package("shopify.extractor", &[]);
    world.publish(&shopify);
    // Someone with push access replaces the tarball and breaks the entry's signature.
    let tarball = world
        .index
        .join("tarballs/sh/op/shopify_osiris-0.1.0.tar.gz");
    let mut bytes = fs::read(&tarball).expect("the tarball");
    bytes.extend_from_slice(b"tampered");
    fs::write(&tarball, bytes).expect("write");
    let entries = world.index.join("packages/sh/op/shopify-osiris");
    let text = fs::read_to_string(&entries).expect("read");
    let mut entry: serde_json::Value = serde_json::from_str(text.trim()).expect("json");
    entry["key_id"] = serde_json::json!("0123456789ABCDEF");
    // And slips in a line that names another package.
    let mut foreign = entry.clone();
    foreign["name"] = serde_json::json!("other-osiris");
    fs::write(&entries, format!("{entry}\n{foreign}\n")).expect("write");
    git(
        &world.index,
        &[
            "-c",
            "user.name=x",
            "-c",
            "user.email=x@example.com",
            "commit",
            "-qam",
            "tamper",
        ],
    );

    let out = world.out("site");
    let output = world.site(&out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("warning: shopify-osiris: no README or spec shown for 0.1.0: the tarball at"),
        "{text}"
    );
    assert!(text.contains("but the signed entry says"), "{text}");
    assert!(
        text.contains(
            "warning: shopify-osiris: 1 entry of its file names another package and is left out"
        ),
        "{text}"
    );
    let html = page(&out, "components/shopify.extractor.html");
    assert!(html.contains("✗ not verified"), "{html}");
    assert!(html.contains("0123456789ABCDEF"), "{html}");
    assert!(
        html.contains("The package&#39;s files could not be read")
            || html.contains("The package's files could not be read"),
        "{html}"
    );
    assert!(
        !html.contains("id=\"readme\""),
        "no README from a tarball that does not match"
    );
}

#[test]
fn the_example_snippets_are_valid_for_the_real_osiris() {
    let world = World::new("http://127.0.0.1:9");
    let out = world.out("site");
    let output = world.site(&out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let html = page(&out, "components/shopify.extractor.html");
    let oml = snippet(&html, "pipeline.yaml (OML)");
    let connections = snippet(&html, "osiris_connections.yaml</p>");
    let dir = world.sandbox.dir.path().join("snippets");
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(dir.join("pipeline.yaml"), &oml).expect("write");
    fs::write(dir.join("osiris_connections.yaml"), &connections).expect("write");
    let python = python::osiris_env(&world.sandbox.dir.path().join("venv"), false);
    let checked = python::run_python(
        &python,
        r#"
import sys, yaml
from osiris.core.oml_validator import OMLValidator
oml = yaml.safe_load(open(sys.argv[1]))
valid, errors, warnings = OMLValidator().validate(oml)
assert valid and not errors, errors
connections = yaml.safe_load(open(sys.argv[2]))
alias = connections["connections"]["shopify"]["default"]
assert alias["default"] is True, alias
assert alias["api_key"] == "${SHOPIFY_API_KEY}", alias
assert "api_key" not in oml["steps"][0]["config"], oml
assert oml["steps"][0]["mode"] == "read", oml
print("valid", oml["steps"][0]["config"]["connection"])
"#,
        &[
            &dir.join("pipeline.yaml").to_string_lossy(),
            &dir.join("osiris_connections.yaml").to_string_lossy(),
        ],
    );
    assert_eq!(
        checked.trim(),
        "valid @shopify.default",
        "{oml}\n{connections}"
    );
}

#[test]
fn the_index_template_publishes_the_site_with_flags_that_exist() {
    let workflow = include_str!("../registry-index/template/_github/workflows/site.yml");
    let line = workflow
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("ocp index site"))
        .expect("the workflow runs `ocp index site`");
    let sandbox = Sandbox::new();
    let index = sandbox.dir.path().join("index");
    run_ok(sandbox.ocp().args(["index", "init"]).arg(&index));
    // The index template carries the workflow.
    assert_eq!(
        fs::read_to_string(index.join(".github/workflows/site.yml")).expect("the workflow"),
        workflow
    );
    // The command as the workflow writes it, with GitHub's expressions filled in.
    let filled = line
        .replace("${{ github.server_url }}", "https://github.com")
        .replace("${{ github.repository }}", "acme/ocp-index");
    let words: Vec<String> = filled
        .split_whitespace()
        .skip(1)
        .map(|word| word.trim_matches('"').to_owned())
        .collect();
    let output = run_ok(sandbox.ocp_in(&index).args(&words));
    assert!(stderr(&output).contains("Finished"), "{}", stderr(&output));
    assert!(index.join("_site/index.html").is_file(), "{line}");
}

/// The browser tools, or a failure that says how to install them.
fn browser_tools() -> PathBuf {
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let chromium = std::env::var("OCP_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let works = |program: &str| {
        Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success())
    };
    let missing: Vec<&str> = [
        (!works(&chromium)).then_some("chromium (`apt-get install chromium`)"),
        (!works("node")).then_some("node (`apt-get install nodejs npm`)"),
        (!browser_dir
            .join("node_modules/playwright-core/package.json")
            .is_file())
        .then_some("playwright-core (`npm ci --prefix tests/browser`)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(
        missing.is_empty(),
        "the browser tests need {}; CI installs them through `.ci/run`",
        missing.join(", ")
    );
    browser_dir
}

#[test]
fn the_site_works_in_a_real_browser() {
    let browser_dir = browser_tools();
    let server = http::FileServer::start(None);
    let world = World::new(&server.base);
    let out = world.out("site");
    let output = world.site(&out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    server.serve_dir(&out);
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("site-screenshots");
    let _ = fs::remove_dir_all(&artifacts);
    fs::create_dir_all(&artifacts).expect("create the artifacts folder");
    let output = run(Command::new("node")
        .arg(browser_dir.join("site.mjs"))
        .arg(&server.base)
        .arg(&out)
        .arg(&artifacts));
    assert!(
        output.status.success(),
        "the browser checks failed:\n{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    let report = stdout(&output);
    for check in [
        "ok the search box filters to the right components",
        "ok a filter by Osiris version hides the incompatible components",
        "ok the configuration table marks the secret",
        "ok a yanked version is marked",
        "ok the hostile README renders as text: no dialog, no request",
        "ok browsing works without JavaScript",
        "ok the site works from file://",
    ] {
        assert!(report.contains(check), "missing `{check}`:\n{report}");
    }
    let log = server.log.lock().expect("the request log").clone();
    assert!(
        !log.iter().any(|line| line.contains("pwned")),
        "a payload made a request: {log:?}"
    );
    assert!(
        log.iter()
            .any(|line| line == "GET /components/evil.extractor.html")
    );
    for screenshot in ["home.png", "component.png"] {
        let bytes = fs::read(artifacts.join(screenshot)).expect("a screenshot");
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
            "{screenshot}"
        );
    }
}
