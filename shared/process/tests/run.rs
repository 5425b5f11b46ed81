//! The runner's promises, checked with real programs: a clean environment, the umask set in the
//! child only, numbered logs with a header, failures that show the last lines, spawn errors with
//! the hint, captured output, stdin bytes, streaming and background processes.

use std::fs;

use talos_ext_process::{Command, DEFAULT_PATH, Log, ProcessError, TAIL_LINES};

/// This process' umask, from `/proc/self/status` (reading it with umask(2) would change it).
fn own_umask() -> String {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    status.lines().find_map(|l| l.strip_prefix("Umask:")).unwrap().trim().to_string()
}

#[test]
fn the_environment_is_exactly_what_was_given() {
    let out = Command::new("env").read().unwrap();
    let mut names: Vec<&str> = out.lines().filter_map(|l| l.split_once('=').map(|(k, _)| k)).collect();
    names.sort();
    assert_eq!(names, ["LC_ALL", "PATH", "TZ"], "{out}");
    assert!(out.contains(&format!("PATH={DEFAULT_PATH}\n")), "{out}");
    let out = Command::new("env").env("X_ONE", "1").env_remove("TZ").read().unwrap();
    assert!(out.contains("X_ONE=1\n") && !out.contains("TZ="), "{out}");
}

#[test]
fn the_umask_is_set_in_the_child_only() {
    let before = own_umask();
    let child = Command::new("sh").args(["-c", "umask"]).read().unwrap();
    assert_eq!(child.trim(), "0022");
    let child = Command::new("sh").args(["-c", "umask"]).umask(0o027).read().unwrap();
    assert_eq!(child.trim(), "0027");
    assert_eq!(own_umask(), before, "running a command changed the caller's umask");
}

#[test]
fn a_logged_command_writes_a_numbered_log_with_a_header() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let ran =
        Command::new("sh").name("first step").args(["-c", "echo out; echo err >&2"]).log_dir(&logs).run().unwrap();
    let log = ran.log.unwrap();
    assert_eq!(log.file_name().unwrap(), "01-first-step.log");
    let text = fs::read_to_string(&log).unwrap();
    assert!(text.starts_with("# step: first step\n# dir: "), "{text}");
    assert!(text.contains("# command: sh -c 'echo out; echo err >&2'\n"), "{text}");
    assert!(text.contains("# env: LC_ALL=C\n") && text.contains("out\nerr\n"), "{text}");
    let second = Command::new("true").log_dir(&logs).run().unwrap().log.unwrap();
    assert_eq!(second.file_name().unwrap(), "02-true.log");
}

#[test]
fn a_failure_names_the_command_and_shows_the_last_lines() {
    let dir = tempfile::tempdir().unwrap();
    let script = "for i in $(seq 1 100); do echo line $i; done; exit 3";
    let err = Command::new("sh").name("explode").args(["-c", script]).dir(dir.path()).log_dir(dir.path()).run();
    let err = err.unwrap_err();
    let failed = err.failed().expect("a failed command");
    assert_eq!(failed.name, "explode");
    assert_eq!(failed.status.code(), Some(3));
    assert_eq!(failed.tail.lines().count(), TAIL_LINES);
    assert!(failed.tail.ends_with("line 100\n") && !failed.tail.contains("line 60\n"), "{}", failed.tail);
    let shown = err.to_string();
    assert!(shown.contains("`explode` failed (exit status: 3)"), "{shown}");
    assert!(shown.contains(&format!("log: {}", failed.log.as_ref().unwrap().display())), "{shown}");

    // Captured output: the tail comes from memory.
    let err = Command::new("sh").args(["-c", "echo gone >&2; exit 1"]).run().unwrap_err();
    assert!(err.to_string().contains("gone\n"), "{err}");
}

#[test]
fn an_appended_log_shows_only_this_commands_lines_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("prepare.log");
    Command::new("sh").args(["-c", "echo earlier"]).log(Log::File(log.clone())).run().unwrap();
    let err = Command::new("sh").args(["-c", "echo later; exit 1"]).log(Log::File(log.clone())).run().unwrap_err();
    let tail = &err.failed().unwrap().tail;
    assert!(tail.contains("later") && !tail.contains("earlier"), "{tail}");
    let text = fs::read_to_string(&log).unwrap();
    assert!(text.contains("earlier") && text.contains("later"), "{text}");
}

#[test]
fn a_missing_program_names_path_and_the_hint() {
    let err = Command::new("no-such-program-xyz").hint("apt-get install xyz").run().unwrap_err();
    assert!(matches!(err, ProcessError::Spawn(_)), "{err}");
    let shown = err.to_string();
    assert!(shown.contains("`no-such-program-xyz` could not start"), "{shown}");
    assert!(shown.contains(&format!("PATH: {DEFAULT_PATH}")) && shown.contains("hint: apt-get install xyz"), "{shown}");
}

#[test]
fn output_returns_stdout_and_fails_with_stderr() {
    let out = Command::new("sh").args(["-c", "echo yes; echo note >&2"]).output().unwrap();
    assert_eq!(out.stdout, b"yes\n");
    assert_eq!(out.stderr, b"note\n");
    let err = Command::new("sh").args(["-c", "echo noise; echo why >&2; exit 2"]).output().unwrap_err();
    let tail = &err.failed().unwrap().tail;
    assert_eq!(tail, "why\n");
    let out = Command::new("sh").args(["-c", "exit 4"]).output_unchecked().unwrap();
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn stdin_is_closed_unless_bytes_are_given() {
    assert_eq!(Command::new("cat").read().unwrap(), "");
    assert_eq!(Command::new("cat").stdin_bytes("fed\n").read().unwrap(), "fed\n");
}

#[test]
fn streaming_still_writes_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let ran = Command::new("sh").args(["-c", "echo streamed"]).log_dir(dir.path()).stream_output(true).run().unwrap();
    assert!(fs::read_to_string(ran.log.unwrap()).unwrap().contains("streamed\n"));
    let err = Command::new("sh").args(["-c", "exit 5"]).log_dir(dir.path()).stream_output(true).run().unwrap_err();
    assert_eq!(err.failed().unwrap().status.code(), Some(5));
}

#[test]
fn a_spawned_command_runs_in_the_background_until_killed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let server = Command::new("sh").args(["-c", "echo up; exec sleep 30"]).log(Log::File(log.clone())).spawn().unwrap();
    assert!(server.is_running());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !fs::read_to_string(&log).unwrap_or_default().contains("up\n") {
        assert!(std::time::Instant::now() < deadline, "no output in {}", log.display());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    server.kill().unwrap();
    assert!(!server.is_running());
}
