//! The `shoal` binary: `shoal [config-file] [--name value ...]` runs a node,
//! as `redis-server` does. With no arguments it is a one-node cluster on
//! 127.0.0.1:6379. `shoal cluster …` administers a cluster ([`admin`]).

use clap::Parser;
use shoal_server::{Config, Node};

#[global_allocator]
static ALLOC: shoal_store::alloc::CountingAlloc = shoal_store::alloc::CountingAlloc;

/// A Redis-protocol distributed cache node.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
#[command(
    after_help = "Any redis.conf directive works as a flag: shoal --port 7000 --maxmemory 100mb\n\
                  Join a cluster: shoal --port 7002 --join 127.0.0.1:7001\n\
                  Administer one: shoal cluster status|nodes|remove --help"
)]
struct Cli {
    /// A redis.conf-style configuration file.
    config_file: Option<std::path::PathBuf>,
    /// Configuration directives as flags: --port 7000 --bind 127.0.0.1 …
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    directives: Vec<String>,
}

mod admin;

fn main() -> std::process::ExitCode {
    let mut args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("cluster") {
        return admin::run(&args[1..]);
    }
    // `shoal --port 7000` has no config file; clap would read `--port` as an
    // unknown flag, so directives are split off before clap sees them.
    let first_directive = args
        .iter()
        .skip(1)
        .position(|a| a.starts_with("--") && a != "--help" && a != "--version");
    let directives: Vec<String> = match first_directive {
        Some(i) => args.split_off(i + 1),
        None => Vec::new(),
    };
    let cli = Cli::parse_from(&args);
    let mut config = Config::default();
    if let Some(path) = &cli.config_file {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!(
                    "Fatal error, can't open config file '{}': {e}",
                    path.display()
                );
                return std::process::ExitCode::FAILURE;
            }
        };
        if let Err(e) = config.load_file(&text) {
            eprintln!("\n*** FATAL CONFIG FILE ERROR ***\n{e}");
            return std::process::ExitCode::FAILURE;
        }
    }
    let mut all = cli.directives.clone();
    all.extend(directives);
    if let Err(e) = config.load_flags(&all) {
        eprintln!("\n*** FATAL CONFIG ERROR ***\n{e}");
        return std::process::ExitCode::FAILURE;
    }
    let level = match config.loglevel.as_str() {
        "debug" => tracing::Level::DEBUG,
        "verbose" => tracing::Level::INFO,
        "notice" => tracing::Level::INFO,
        _ => tracing::Level::WARN,
    };
    {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        // openraft narrates elections and membership changes at INFO and WARN:
        // only its errors show.
        let filter = tracing_subscriber::filter::Targets::new()
            .with_default(level)
            .with_target("openraft", tracing::Level::ERROR);
        tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_target(false))
            .with(filter)
            .init();
    }
    if let Err(e) =
        std::fs::create_dir_all(&config.dir).and_then(|_| std::env::set_current_dir(&config.dir))
    {
        eprintln!("Can't chdir to '{}': {e}", config.dir);
        return std::process::ExitCode::FAILURE;
    }
    if let Ok(dir) = std::env::current_dir() {
        config.dir = dir.display().to_string();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("can't start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let node = Node::new(config);
        let listeners = match shoal_server::bind(&node).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("Could not create server TCP listening socket: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
        let port = node.local_addr.lock().map_or(0, |a| a.port());
        let config = node.config.read().clone();
        match shoal_server::cluster::Cluster::start(&config, port).await {
            Ok(c) => {
                let _ = node.cluster.set(c);
            }
            Err(e) => {
                eprintln!("Can't start the cluster member: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
        if let Some(addr) = *node.local_addr.lock() {
            tracing::info!(
                "shoal {} ready to accept connections on {addr}",
                env!("CARGO_PKG_VERSION")
            );
        }
        let signals = node.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::warn!("Received shutdown signal, scheduling shutdown...");
            signals.shutdown();
        });
        shoal_server::serve(node, listeners).await;
        tracing::warn!("shoal is now ready to exit, bye bye...");
        std::process::ExitCode::SUCCESS
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
