//! The unit sets MemoryDenyWriteExecute=yes. That holds only if nothing in the
//! process ever maps memory writable and executable (a JIT would): ONNX Runtime,
//! the candle embedding encoder and the language model all run here under the same
//! kernel rule, through a real Mosquitto and the HTTP API.

use crate::onnx::motor_lines;
use crate::support::{peer, wait_until, Broker, Daemon};
use serde_json::json;
use std::path::Path;
use std::time::Duration;

fn mdwe_exec() -> String {
    peer("mdwe_exec.py").display().to_string()
}

/// Prints whether a writable and executable mapping is refused.
const PROBE: &str = "import mmap\n\
try:\n    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n    print('allowed')\n\
except PermissionError:\n    print('refused')\n";

#[test]
fn the_ml_paths_run_under_memory_deny_write_execute() {
    // The rule is in force in a program the launcher execs (else this test proves
    // nothing): a writable and executable mapping is refused.
    let python = String::from_utf8(
        std::process::Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let probe = std::process::Command::new("python3")
        .args([&mdwe_exec(), python.trim(), "-c", PROBE])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&probe.stdout).trim(),
        "refused",
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );

    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let mut d = Daemon::start_under(
        dir.path(),
        &format!(
            "[onnx]\nmodels-dir = \"{m}\"\n\
             [knowledge]\nmodels-dir = \"{m}\"\nllm = \"smollm2/SmolLM2-135M-Instruct.Q4_1.gguf\"\n\
             [[sources.mqtt]]\nname = \"in\"\nhost = \"127.0.0.1\"\nport = {port}\n\
             [[sources.mqtt.subscriptions]]\ntopic = \"motors/#\"\nqos = 1\n\
             [[anomaly-models]]\nname = \"motor-anomaly\"\nmodel = \"motor-anomaly\"\n\
             sensors = \"motors/*/{{channel}}\"\n",
            m = models.display(),
            port = broker.port,
        ),
        &[],
        &["python3", &mdwe_exec()],
    );
    assert_eq!(d.metric("edgewatch_anomaly_models_loaded"), 1.0);

    // ONNX Runtime scores windows.
    broker.wait_subscribed("edgewatch-test-in", "motors/#");
    let start = edgewatch::event::now_ms() - 120_000;
    broker.publish_lines("motors/in", &motor_lines(start, 60, 0, 0.0), 1);
    assert!(
        wait_until(Duration::from_secs(20), || d
            .metric("edgewatch_anomaly_windows_scored_total")
            >= 10.0),
        "no windows scored; log:\n{}",
        d.log()
    );

    // The embedding model embeds.
    let (code, e) = d.post("/v1/embeddings", &json!({"input": "bearing vibration"}));
    assert_eq!(code, 200, "{e}");
    assert_eq!(e["data"][0]["embedding"].as_array().unwrap().len(), 384);

    // The language model generates.
    let (code, c) = d.post(
        "/v1/chat/completions",
        &json!({"model": "smollm2-135m-instruct", "max_tokens": 4,
                "messages": [{"role": "user", "content": "Say hello."}]}),
    );
    assert_eq!(code, 200, "{c}");
    assert!(
        c["usage"]["completion_tokens"].as_u64().unwrap() >= 1,
        "{c}"
    );
    assert!(c["choices"][0]["message"]["content"].is_string(), "{c}");

    assert!(d.is_running(), "log:\n{}", d.log());
}
