//! `index.html`: one self-contained page (inline CSS and a few lines of JS, nothing fetched) to browse
//! and filter a repository.

use std::fmt::Write;

use super::index::{Index, INDEX_FILE, SIGNATURE_FILE};
use crate::artifacts::{percent_encode, Kind, Outcome};

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A link to a repository path from `index.html`. The version folder is literally named `1.0.0%2Bdriver`
/// on disk, so its `%` must itself be escaped for a browser to ask for that folder.
pub fn href(repository_path: &str) -> String {
    repository_path
        .split('/')
        .map(|segment| {
            percent_encode(segment, |b| {
                b.is_ascii_alphanumeric() || b"-_.~".contains(&b)
            })
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

const STYLE: &str = r#"
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em;color:#1d232a;background:#fff}
h1{font-size:1.4em;margin:0 0 .3em}
.meta{color:#555;margin:.2em 0 .8em}
.counts{display:flex;flex-wrap:wrap;gap:.5em;list-style:none;padding:0;margin:0 0 1em}
.counts li{border:1px solid #d0d7de;border-radius:6px;padding:.3em .7em;background:#f6f8fa}
.counts b{font-size:1.15em}
.controls{display:flex;flex-wrap:wrap;gap:.6em;align-items:center;margin-bottom:.8em}
.controls input{flex:1 1 22em;padding:.4em;font:inherit;border:1px solid #8c959f;border-radius:4px}
.controls select{padding:.35em;font:inherit}
#shown{color:#555}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #e4e8ec;white-space:nowrap}
th{background:#f0f3f6;position:sticky;top:0}
tbody tr:hover{background:#f8fafc}
td.num{text-align:right}
td a{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.badge{display:inline-block;border-radius:10px;padding:0 .6em;font-weight:600;font-size:.9em}
.passed{color:#0f5323;background:#d2f4dc}
.failed{color:#82071e;background:#ffd8d3}
.untested{color:#4d4d00;background:#fbefb5}
li.passed,li.failed,li.untested{border-color:transparent}
"#;

const SCRIPT: &str = r#"
const q=document.getElementById('q'),st=document.getElementById('status'),
  kd=document.getElementById('kind'),ar=document.getElementById('arch'),
  rows=[...document.querySelectorAll('tbody tr')],shown=document.getElementById('shown');
function apply(){const t=q.value.trim().toLowerCase();let n=0;for(const r of rows){
  const ok=(!t||r.textContent.toLowerCase().includes(t))&&(!st.value||r.dataset.status===st.value)
    &&(!kd.value||r.dataset.kind===kd.value)&&(!ar.value||r.dataset.arch===ar.value);
  r.hidden=!ok;if(ok)n++;}shown.textContent=n+' of '+rows.length+' shown';
  const p=new URLSearchParams();for(const [e,k] of [[q,'q'],[st,'status'],[kd,'kind'],[ar,'arch']])if(e.value)p.set(k,e.value);
  history.replaceState(null,'',p.toString()?'#'+p:location.pathname);}
const h=new URLSearchParams(location.hash.slice(1));q.value=h.get('q')||'';
for(const [e,k] of [[st,'status'],[kd,'kind'],[ar,'arch']])if(h.get(k))e.value=h.get(k);
for(const e of [q,st,kd,ar])e.addEventListener('input',apply);apply();
"#;

/// The page for `index`; every value from the index is escaped. The filters can be preset from the
/// URL fragment (`index.html#q=6.12&status=failed`), and the fragment follows them, so a filtered view
/// can be shared as a link.
pub fn render(index: &Index) -> String {
    let count = |outcome: Outcome| {
        index
            .artifacts
            .iter()
            .filter(|e| e.status == outcome)
            .count()
    };
    let kinds = |kind: Kind| index.artifacts.iter().filter(|e| e.kind == kind).count();
    let title = format!("Prebuilt {} drivers", index.driver_name);
    let mut page = String::with_capacity(4096 + index.artifacts.len() * 700);
    // Writing to a String cannot fail.
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n\
         <p class=\"meta\">Generated {generated} &middot; <a href=\"{INDEX_FILE}\">{INDEX_FILE}</a> &middot; \
         <a href=\"{SIGNATURE_FILE}\">signature</a> (check it: <code>minisign -Vm {INDEX_FILE} -p dbg.pub</code>)</p>\n",
        title = escape(&title),
        generated = escape(&index.generated_at),
    );
    let _ = write!(
        page,
        "<ul class=\"counts\">\n<li><b>{}</b> artifacts</li>\n<li><b>{}</b> kernels</li>\n\
         <li><b>{}</b> {}: {}</li>\n<li><b>{}</b> modules, <b>{}</b> probes</li>\n\
         <li class=\"passed\"><b>{}</b> passed</li>\n<li class=\"failed\"><b>{}</b> failed</li>\n\
         <li class=\"untested\"><b>{}</b> untested</li>\n</ul>\n",
        index.artifacts.len(),
        index.kernels.len(),
        index.driver_versions.len(),
        if index.driver_versions.len() == 1 {
            "driver version"
        } else {
            "driver versions"
        },
        escape(&index.driver_versions.join(", ")),
        kinds(Kind::Module),
        kinds(Kind::Probe),
        count(Outcome::Passed),
        count(Outcome::Failed),
        count(Outcome::Untested),
    );
    page.push_str(
        "<div class=\"controls\">\n<input id=\"q\" type=\"search\" placeholder=\"Filter: kernel release, target, version, sha256...\" autofocus>\n\
         <select id=\"status\"><option value=\"\">any status</option><option value=\"passed\">passed</option>\
         <option value=\"failed\">failed</option><option value=\"untested\">untested</option></select>\n\
         <select id=\"kind\"><option value=\"\">any kind</option><option value=\"module\">module (.ko)</option>\
         <option value=\"probe\">probe (.o)</option></select>\n<select id=\"arch\"><option value=\"\">any arch</option>",
    );
    for arch in &index.arches {
        let _ = write!(
            page,
            "<option value=\"{a}\">{a}</option>",
            a = escape(arch.as_str())
        );
    }
    page.push_str(
        "</select>\n<span id=\"shown\"></span>\n</div>\n<table>\n<thead><tr><th>Driver version</th><th>Arch</th>\
         <th>Target</th><th>Kernel release</th><th>Kernel version</th><th>Kind</th><th>Size</th><th>SHA-256</th>\
         <th>Test</th><th>Download</th></tr></thead>\n<tbody>\n",
    );
    for e in &index.artifacts {
        let test_title = match (&e.tested_kernel, &e.tested_at) {
            (Some(kernel), Some(at)) => format!(
                "booted {kernel} at {at}, {:.1} s: {}",
                e.test_seconds.unwrap_or(0.0),
                e.test_detail.as_deref().unwrap_or("")
            ),
            _ => "no boot test recorded".to_owned(),
        };
        let file_name = e.path.rsplit('/').next().unwrap_or(&e.path);
        let _ = writeln!(
            page,
            "<tr data-status=\"{status}\" data-kind=\"{kind}\" data-arch=\"{arch}\"><td>{version}</td><td>{arch}</td>\
             <td>{target}</td><td>{release}</td><td>{kversion}</td><td>{kind}</td>\
             <td class=\"num\" title=\"{size} bytes\">{human}</td><td><code title=\"{sha}\">{short}</code></td>\
             <td><span class=\"badge {status}\" title=\"{test_title}\">{status}</span></td>\
             <td><a href=\"{href}\" download>{file}</a></td></tr>",
            status = e.status.as_str(),
            kind = e.kind.as_str(),
            arch = escape(e.arch.as_str()),
            version = escape(&e.driver_version),
            target = escape(&e.target),
            release = escape(&e.kernelrelease),
            kversion = escape(&e.kernelversion),
            size = e.size,
            human = human_size(e.size),
            sha = escape(&e.sha256),
            short = escape(e.sha256.get(..12).unwrap_or(&e.sha256)),
            test_title = escape(&test_title),
            href = escape(&href(&e.path)),
            file = escape(file_name),
        );
    }
    let _ = write!(
        page,
        "</tbody>\n</table>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    );
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn links_reach_the_escaped_folder() {
        assert_eq!(
            href("7.0.0%2Bdriver/x86_64/falco_debian_6.12.95-1~bpo12+1-amd64_1.ko"),
            "7.0.0%252Bdriver/x86_64/falco_debian_6.12.95-1~bpo12%2B1-amd64_1.ko"
        );
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(4 * 1024 * 1024 + 200 * 1024), "4.2 MiB");
    }
}
