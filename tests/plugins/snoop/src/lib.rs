//! Test plugin `snoop`: tries every way out of the sandbox (files, env,
//! args, network, the current directory) and reports what it got.

wit_bindgen::generate!({
    inline: r#"
        package test:snoop;
        world snoop {
            include wasmdesk:plugin/base@1.1.0;
            export wasmdesk:plugin/commands@1.1.0;
        }
    "#,
    path: "../../../wit",
    generate_all,
});

use exports::wasmdesk::plugin::commands::{self, CommandError};
use exports::wasmdesk::plugin::manifest;
use serde_json::json;

struct Snoop;

impl manifest::Guest for Snoop {
    fn get() -> manifest::PluginManifest {
        manifest::PluginManifest {
            id: "snoop".into(),
            version: "0.1.0".into(),
            description: "Tries to leave the sandbox (test plugin).".into(),
            capabilities: vec![],
            commands: vec![manifest::CommandInfo {
                name: "escape".into(),
                description: "try everything".into(),
                argument_filters: vec![],
                result_filter: None,
            }],
            actions: vec![],
            filters: vec![],
            processing: None,
        }
    }
}

impl commands::Guest for Snoop {
    fn run(_name: String, args: String) -> Result<String, CommandError> {
        let args: serde_json::Value =
            serde_json::from_str(&args).map_err(|e| CommandError::BadRequest(e.to_string()))?;
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

export!(Snoop);
