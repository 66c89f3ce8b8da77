//! Progress a person can see on long work: a bar for the build (units compiled, from
//! cargo's JSON messages, out of the count the last build of that configuration had) and
//! one for the run (tests done out of all, and the test running longest), with the time
//! elapsed. Drawn on stderr only when it is a terminal and `--quiet` was not given, so CI
//! logs stay clean; indicatif leaves colour out when `NO_COLOR` is set.

use crate::lang::Lang;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Whether bars are drawn: asked for, and stderr is a terminal.
pub fn wanted(asked: bool) -> bool {
    asked && std::io::stderr().is_terminal()
}

fn bar(len: Option<u64>, template: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The bar of one cargo build: one tick per unit cargo reports (built or already fresh).
pub struct Build {
    bar: ProgressBar,
    units: u64,
    /// Where the unit count is kept for the next build's bar.
    memory: PathBuf,
}

impl Build {
    /// A bar for building `what`; `memory` keeps its unit count for next time. Before a
    /// first count, `estimate` (asked only then: it runs cargo) stands for it; the bar
    /// grows if the build goes past it.
    pub fn start(
        what: &str,
        memory: &Path,
        estimate: impl FnOnce() -> Option<u64>,
        lang: Lang,
    ) -> Build {
        let total = std::fs::read_to_string(memory)
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .or_else(estimate);
        let bar = match (total, lang) {
            (Some(total), Lang::En) => bar(
                Some(total),
                "{spinner} building {msg} [{bar:30}] {pos}/{len} crates, {elapsed}",
            ),
            (Some(total), Lang::Zh) => bar(
                Some(total),
                "{spinner} 正在编译{msg} [{bar:30}] {pos}/{len} 个 crate，{elapsed}",
            ),
            (None, Lang::En) => bar(None, "{spinner} building {msg}: {pos} crates, {elapsed}"),
            (None, Lang::Zh) => bar(None, "{spinner} 正在编译{msg}：{pos} 个 crate，{elapsed}"),
        };
        bar.set_message(what.to_string());
        Build {
            bar,
            units: 0,
            memory: memory.to_path_buf(),
        }
    }

    /// One unit built or found fresh.
    pub fn unit(&mut self) {
        self.units += 1;
        if self.bar.length().is_some_and(|len| self.units > len) {
            self.bar.set_length(self.units);
        }
        self.bar.set_position(self.units);
    }

    pub fn finish(self) {
        let _ = std::fs::write(&self.memory, self.units.to_string());
        self.bar.finish_and_clear();
    }
}

/// The bar of the run stage, shared by its workers.
#[derive(Clone)]
pub struct Tests {
    bar: ProgressBar,
    running: Arc<Mutex<HashMap<String, Instant>>>,
    lang: Lang,
}

impl Tests {
    pub fn start(total: usize, lang: Lang) -> Tests {
        let template = match lang {
            Lang::En => "{spinner} running [{bar:30}] {pos}/{len} tests, {elapsed}  {wide_msg}",
            Lang::Zh => "{spinner} 运行中 [{bar:30}] {pos}/{len} 个测试，{elapsed}  {wide_msg}",
        };
        Tests {
            bar: bar(Some(total as u64), template),
            running: Arc::new(Mutex::new(HashMap::new())),
            lang,
        }
    }

    pub fn started(&self, test: &str) {
        let mut running = self.running.lock().unwrap();
        running.insert(test.to_string(), Instant::now());
        self.show_longest(&running);
    }

    pub fn finished(&self, test: &str) {
        let mut running = self.running.lock().unwrap();
        running.remove(test);
        self.bar.inc(1);
        self.show_longest(&running);
    }

    fn show_longest(&self, running: &HashMap<String, Instant>) {
        let longest = running
            .iter()
            .min_by_key(|(name, since)| (**since, (*name).clone()));
        self.bar.set_message(match longest {
            Some((name, _)) => match self.lang {
                Lang::En => format!("longest running: {name}"),
                Lang::Zh => format!("运行最久：{name}"),
            },
            None => String::new(),
        });
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
