//! The grader's own words, in English and in Chinese: headings, states, progress and next
//! steps. `--lang zh|en` chooses; by default the environment does (`LC_ALL`, then
//! `LC_MESSAGES`, then `LANG`: a locale starting with `zh` is Chinese). The hidden tests'
//! failure messages stay English (the README says so).

use crate::report::KataState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    /// From the locale, as the C library reads it.
    pub fn from_env() -> Lang {
        for var in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            match std::env::var(var) {
                Ok(value) if !value.is_empty() => {
                    return if value.to_ascii_lowercase().starts_with("zh") {
                        Lang::Zh
                    } else {
                        Lang::En
                    };
                }
                _ => {}
            }
        }
        Lang::En
    }

    fn pick(self, en: &'static str, zh: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::Zh => zh,
        }
    }

    pub fn grading(self, course: &str, submission: &str) -> String {
        match self {
            Lang::En => format!("{course} — grading {submission}"),
            Lang::Zh => format!("{course} — 评分对象：{submission}"),
        }
    }

    /// Under the heading of a grade in the student edition (`edition: student`): what
    /// these points are, and what they are not.
    pub fn visible_tests_only(self) -> &'static str {
        self.pick(
            "Visible tests only: this student edition grades each kata with its visible tests (tests/visible.rs).\n\
             The course's own grade also runs hidden tests (loom, proptest, process and stress checks): full marks here are not full marks there.",
            "这里只运行公开测试：这是课程的学生版，每个练习只用它的公开测试（tests/visible.rs）评分。\n\
             课程的正式评分还会运行隐藏测试（loom、proptest、进程检查和压力测试）：这里拿满分，不等于正式评分也拿满分。",
        )
    }

    /// The table's headings: kata, title, points, tests.
    pub fn columns(self) -> [&'static str; 4] {
        match self {
            Lang::En => ["kata", "title", "points", "tests"],
            Lang::Zh => ["练习", "课程章节", "得分", "测试"],
        }
    }

    pub fn state(self, state: KataState) -> &'static str {
        match state {
            KataState::Done => self.pick("done", "已完成"),
            KataState::Started => self.pick("started", "进行中"),
            KataState::NotStarted => self.pick("not started", "未开始"),
        }
    }

    pub fn failing_tests(self) -> &'static str {
        self.pick("Failing tests:", "未通过的测试：")
    }

    pub fn same_compile_error(self) -> &'static str {
        self.pick("(the same compile error)", "（同一个编译错误）")
    }

    pub fn first_failure(self, kata: &str, failing: usize, tests: usize) -> String {
        match self {
            Lang::En => format!("{kata}: {failing} of {tests} tests fail; the first:"),
            Lang::Zh => format!("{kata}：{tests} 个测试中有 {failing} 个未通过，第一个："),
        }
    }

    pub fn more_failures(self, more: usize, kata: &str) -> String {
        match self {
            Lang::En => format!("{more} more: `cargo grader check {kata}`"),
            Lang::Zh => format!("另有 {more} 个：`cargo grader check {kata}`"),
        }
    }

    pub fn more_lines(self, more: usize, command: &str) -> String {
        match self {
            Lang::En => format!(
                "… ({more} more line{}: `{command}`)",
                if more == 1 { "" } else { "s" }
            ),
            Lang::Zh => format!("……（还有 {more} 行：`{command}`）"),
        }
    }

    pub fn total(self, points: u32, max: u32, counts: [usize; 3]) -> String {
        let [done, started, not_started] = counts;
        match self {
            Lang::En => format!(
                "Total: {points}/{max} points · {done} done, {started} started, {not_started} not started"
            ),
            Lang::Zh => format!(
                "总分：{points}/{max} · 已完成 {done} 个，进行中 {started} 个，未开始 {not_started} 个"
            ),
        }
    }

    pub fn note(self) -> &'static str {
        self.pick("Note", "注意")
    }

    pub fn next_not_started(self, kata: &str) -> String {
        match self {
            Lang::En => format!(
                "Next: start with `{kata}` (exercises/{kata}/README.md): `cargo grader watch` checks exercises/{kata}/src/lib.rs on every save."
            ),
            Lang::Zh => format!(
                "下一步：从 `{kata}` 开始（题目见 exercises/{kata}/README.zh.md）：运行 `cargo grader watch`，每次保存 exercises/{kata}/src/lib.rs 都会自动检查。"
            ),
        }
    }

    pub fn next_fix(self, kata: &str) -> String {
        match self {
            Lang::En => format!(
                "Next: fix the first failure above, then `cargo grader check {kata}` again. Stuck? `cargo grader hint {kata}` gives a hint, one level at a time."
            ),
            Lang::Zh => format!(
                "下一步：先改正上面第一个失败，再运行 `cargo grader check {kata}`。卡住了？`cargo grader hint {kata}` 逐级给出提示。"
            ),
        }
    }

    pub fn next_check(self, kata: &str) -> String {
        match self {
            Lang::En => format!(
                "Next: `cargo grader check {kata}` shows every failure in full. Stuck? `cargo grader hint {kata}`."
            ),
            Lang::Zh => format!(
                "下一步：`cargo grader check {kata}` 会完整列出每个失败。卡住了？`cargo grader hint {kata}`。"
            ),
        }
    }

    pub fn next_all_done(self) -> &'static str {
        self.pick(
            "Next: every kata graded here earns full marks. Well done.",
            "下一步：这里评分的练习全部满分，做得好！",
        )
    }

    pub fn next_after(self, kata: &str) -> String {
        match self {
            Lang::En => format!(
                "Next: `{kata}` earns full marks; on to the next kata (`cargo grader list`)."
            ),
            Lang::Zh => {
                format!("下一步：`{kata}` 已满分，继续下一个练习（`cargo grader list`）。")
            }
        }
    }

    pub fn nothing_graded(self) -> &'static str {
        self.pick("Next: nothing was graded.", "下一步：没有评分任何练习。")
    }

    pub fn hint(self, level: usize, of: usize) -> String {
        match self {
            Lang::En => format!("Hint {level}/{of}"),
            Lang::Zh => format!("提示 {level}/{of}"),
        }
    }

    pub fn more_hints(self, kata: &str, level: usize) -> String {
        match self {
            Lang::En => format!("More: cargo grader hint {kata} --level {level}"),
            Lang::Zh => format!("下一级：cargo grader hint {kata} --level {level}"),
        }
    }

    /// `list`'s headings: #, kata, points, where you stand, and the last column.
    pub fn list_columns(self) -> [&'static str; 5] {
        match self {
            Lang::En => [
                "#",
                "kata",
                "points",
                "where you stand",
                "title — course section (checkers)",
            ],
            Lang::Zh => ["#", "练习", "得分", "进度", "标题 — 课程章节（检查方式）"],
        }
    }

    pub fn not_checked_yet(self) -> &'static str {
        self.pick("started, not checked yet", "进行中，尚未检查")
    }

    pub fn missing(self) -> &'static str {
        self.pick("missing: no src/lib.rs", "缺少 src/lib.rs")
    }

    pub fn edited_since(self) -> &'static str {
        self.pick(", edited since", "，之后又改过")
    }

    pub fn list_total(self, points: u32, max: u32, counts: [usize; 3]) -> String {
        match self {
            Lang::En => format!(
                "{} (points from your last grade or check)",
                self.total(points, max, counts)
            ),
            Lang::Zh => format!(
                "{}（得分来自最近一次 grade 或 check）",
                self.total(points, max, counts)
            ),
        }
    }

    pub fn course_done(self) -> &'static str {
        self.pick(
            "Every kata earns full marks: the course is done.",
            "所有练习都已满分：课程完成！",
        )
    }

    pub fn list_next_start(self, kata: &str) -> String {
        match self {
            Lang::En => format!(
                "Next: start with `{kata}`: read exercises/{kata}/README.md, then `cargo grader check {kata}`."
            ),
            Lang::Zh => format!(
                "下一步：从 `{kata}` 开始：读 exercises/{kata}/README.zh.md，然后运行 `cargo grader check {kata}`。"
            ),
        }
    }

    pub fn list_next_check(self, kata: &str) -> String {
        match self {
            Lang::En => format!("Next: `cargo grader check {kata}`."),
            Lang::Zh => format!("下一步：`cargo grader check {kata}`。"),
        }
    }

    pub fn watch_keys(self) -> &'static str {
        self.pick(
            "[h] hint  [l] list  [n] next kata  [c] check again  [q] quit",
            "[h] 提示  [l] 列表  [n] 下一个练习  [c] 重新检查  [q] 退出",
        )
    }

    pub fn watch_not_started(self, kata: &str, lib: &str) -> String {
        match self {
            Lang::En => format!(
                "Not started. The statement is exercises/{kata}/README.md; write {lib}.\nEvery save checks it again.\n"
            ),
            Lang::Zh => format!(
                "未开始。题目见 exercises/{kata}/README.zh.md；请编写 {lib}。\n每次保存都会重新检查。\n"
            ),
        }
    }

    pub fn watch_checking(self, kata: &str) -> String {
        match self {
            Lang::En => format!("checking {kata} …"),
            Lang::Zh => format!("正在检查 {kata} ……"),
        }
    }

    pub fn watch_full_marks(self, kata: &str) -> String {
        match self {
            Lang::En => format!("✓ {kata} earns full marks: on to the next kata."),
            Lang::Zh => format!("✓ {kata} 满分：进入下一个练习。"),
        }
    }

    pub fn watch_next_hint(self) -> &'static str {
        self.pick(
            "[h] again for the next hint; [c] to check again.",
            "再按 [h] 看下一级提示；按 [c] 重新检查。",
        )
    }

    pub fn watch_course_done(self) -> &'static str {
        self.pick(
            "grader watch — the course is done",
            "grader watch — 课程完成",
        )
    }

    pub fn could_not_check(self, kata: &str, why: &str) -> String {
        match self {
            Lang::En => format!("The check of {kata} could not run: {why}\n"),
            Lang::Zh => format!("无法检查 {kata}：{why}\n"),
        }
    }

    pub fn reset_already(self, file: &str) -> String {
        match self {
            Lang::En => format!("{file} is already the stub: nothing changed."),
            Lang::Zh => format!("{file} 已经是初始代码，没有改动。"),
        }
    }

    pub fn reset_restored(self, file: &str) -> String {
        match self {
            Lang::En => format!("{file} is the stub again."),
            Lang::Zh => format!("{file} 已恢复为初始代码。"),
        }
    }

    pub fn reset_done(self, file: &str, backup: &str) -> String {
        match self {
            Lang::En => format!(
                "{file} is the stub again. Your sources are kept in {backup}/ (the grader never reads them there)."
            ),
            Lang::Zh => format!(
                "{file} 已恢复为初始代码。你原来的代码保存在 {backup}/（评分器不会读取那里）。"
            ),
        }
    }

    pub fn building(self, submission: &str) -> String {
        match self {
            Lang::En => format!("grader: building the hidden tests against {submission}"),
            Lang::Zh => format!("grader：正在针对 {submission} 编译隐藏测试"),
        }
    }

    pub fn running(self, tests: usize, at_once: usize) -> String {
        match self {
            Lang::En => format!("grader: running {tests} hidden tests, {at_once} at a time"),
            Lang::Zh => format!("grader：运行 {tests} 个隐藏测试，每次 {at_once} 个"),
        }
    }
}

/// Columns a line takes on a terminal: two for a wide (CJK) character, one for others.
pub fn display_width(line: &str) -> usize {
    line.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6 => 2,
            _ => 1,
        })
        .sum()
}
