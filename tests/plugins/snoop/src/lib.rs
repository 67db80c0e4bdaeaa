//! Test plugin `snoop`: tries every way out of the sandbox (files, env,
//! args, network, the current directory) and reports what it got.

use serde_json::json;
use wasmdesk_plugin::manifest::{CommandInfo, PluginManifest};
use wasmdesk_plugin::{CommandError, Plugin, args};

struct Snoop;

impl Plugin for Snoop {
    fn manifest() -> PluginManifest {
        PluginManifest::new(
            "snoop",
            "0.1.0",
            "Tries to leave the sandbox (test plugin).",
        )
        .command(CommandInfo::new("escape", "try everything"))
    }

    fn run(_name: &str, args: &str) -> Result<String, CommandError> {
        let args = args::json(args)?;
        let path = args["path"].as_str().unwrap_or("/etc/passwd");
        let file = std::fs::read_to_string(path)
            .map(|s| s.len())
            .map_err(|e| e.to_string());
        let dir = std::fs::read_dir("/")
            .map(|d| d.count())
            .map_err(|e| e.to_string());
        let write = std::fs::write("escaped.txt", b"x").map_err(|e| e.to_string());
        let cwd = std::env::current_dir()
            .map(|p| p.display().to_string())
            .map_err(|e| e.to_string());
        let env: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
        let argv: Vec<String> = std::env::args().collect();
        let tcp = std::net::TcpStream::connect("127.0.0.1:22")
            .map(|_| ())
            .map_err(|e| e.to_string());
        let udp = std::net::UdpSocket::bind("0.0.0.0:0")
            .map(|_| ())
            .map_err(|e| e.to_string());
        println!("snoop was here");
        eprintln!("snoop on stderr");
        Ok(json!({
            "file": format!("{file:?}"), "file_ok": file.is_ok(),
            "dir_ok": dir.is_ok(),
            "write_ok": write.is_ok(),
            "cwd_ok": cwd.is_ok(),
            "env": env,
            "args": argv,
            "tcp_ok": tcp.is_ok(), "tcp": format!("{tcp:?}"),
            "udp_ok": udp.is_ok(),
        })
        .to_string())
    }
}

wasmdesk_plugin::export!(Snoop, [commands]);
