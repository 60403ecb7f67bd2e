"""The `tfx-ext` command."""

import argparse
import os
import sys

from tfx_ext._core.conversion_modes import ENGINES, MODES


def _versions():
    import importlib.metadata as metadata

    import tfx_ext

    lines = [f"tfx_ext {tfx_ext.__version__}"]
    for package in (
        "tensorflow",
        "keras",
        "tf-keras",
        "tensorflow-model-optimization",
        "keras-tuner",
        "ai-edge-litert",
        "litert-quantizer",
    ):
        try:
            lines.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            lines.append(f"{package} (not installed)")
    return "\n".join(lines)


def _components():
    import keras

    import tfx_ext  # noqa: F401  (registers the components)

    names = [name for name in keras.saving.get_custom_objects() if name.startswith("tfx_ext>")]
    return "\n".join(sorted(names))


def _tflite(args):
    import keras
    import numpy as np

    import tfx_ext  # noqa: F401  (registers the components)
    from tfx_ext.lite import compare, convert

    model = keras.models.load_model(args.model)
    data = np.load(args.representative) if args.representative else None
    x = None if data is None else data[args.x_key]
    result = convert(
        model,
        mode=args.mode,
        representative_data=x,
        output_path=args.out,
        engine=args.engine,
    )
    print(f"wrote {result.path} ({result.size:,} bytes, {args.mode}, {args.engine})")
    if result.float_ops:
        print(f"ops left in float: {', '.join(result.float_ops)}")
    if x is not None:
        labels = data[args.y_key] if args.y_key in data else None
        print(compare(model, result, x, labels))


def _serve(args):
    from tfx_ext._core.arguments import invalid
    from tfx_ext.serving import LocalModelServer

    batching = None
    if args.enable_batching:
        from tfx_ext.serving.batching import BatchingParameters

        batching = (
            BatchingParameters.from_file(args.batching_parameters_file)
            if args.batching_parameters_file
            else BatchingParameters()
        )
    if args.model_config_file:
        sources = {
            "model_config_file": args.model_config_file
        }  # TF Serving ignores --model_base_path then
    elif args.base_dir and args.model_base_path:
        raise ValueError(
            "Invalid arguments: give BASE_DIR (a directory of models) or --model_base_path (one model's "
            f"versions), not both. Received: BASE_DIR={args.base_dir!r}, model_base_path={args.model_base_path!r}"
        )
    elif args.model_base_path:
        sources = {"model_base_path": args.model_base_path, "model_name": args.model_name}
    else:
        sources = {"base_dir": args.base_dir}
    if args.rest_api_timeout_in_ms <= 0:
        raise invalid(
            "rest_api_timeout_in_ms",
            "a positive number of milliseconds (the local server always bounds a REST read)",
            received=str(args.rest_api_timeout_in_ms),
        )
    server = LocalModelServer(
        **sources,
        rest_port=args.rest_port,
        grpc_port=args.grpc_port,
        host=args.host,
        poll_seconds=args.poll_seconds,
        model_config_poll_seconds=args.model_config_file_poll_wait_seconds
        if args.model_config_file
        else 0,
        monitoring_config_file=args.monitoring_config_file,
        read_timeout=args.rest_api_timeout_in_ms / 1000.0,
        enable_signature_method_name_check=args.enable_signature_method_name_check,
        enable_model_warmup=args.enable_model_warmup,
        grpc_max_threads=args.grpc_max_threads,
        batching_parameters=batching,
    )
    server.start()
    names = ", ".join(sorted(server.registry.models))
    print(
        f"tfx_ext local model server (a test double, not TF Serving) serving {names}: "
        f"REST {args.host}:{args.rest_port or 'off'}, gRPC {args.host}:{args.grpc_port or 'off'}",
        flush=True,
    )
    for name, model in sorted(server.registry.models.items()):
        if not model.versions:
            problems = [s.error_message for s in model.states.values() if s.error_message]
            reason = problems[-1] if problems else f"no version directory under {model.base_path}"
            print(
                f"warning: model {name} has no servable version yet: {reason}",
                file=sys.stderr,
                flush=True,
            )
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _flag_bool(text):
    """A TF Serving boolean flag value (`--name`, `--name=true|false|1|0`)."""
    value = str(text).strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, received {text!r}")


# TF Serving's flags (tensorflow_serving/model_servers/main.cc) the local server honours:
# name -> (type, TF Serving's default, dest, help). Booleans may be given bare.
_TF_SERVING_FLAGS = {
    "port": (
        int,
        8500,
        "grpc_port",
        "TCP port to listen on for gRPC API. Disabled if port set to zero.",
    ),
    "rest_api_port": (
        int,
        0,
        "rest_port",
        "Port to listen on for HTTP/REST API. If set to zero HTTP/REST API "
        "will not be exported (TF Serving's default).",
    ),
    "model_name": (
        str,
        "default",
        "model_name",
        "name of model (ignored if --model_config_file flag is set)",
    ),
    "model_base_path": (
        str,
        None,
        "model_base_path",
        "path to export (the directory holding the version "
        "subdirectories; ignored if --model_config_file flag is set)",
    ),
    "model_config_file": (
        str,
        None,
        "model_config_file",
        "read an ascii ModelServerConfig protobuf from the file "
        "and serve the models in it (then --model_name, --model_base_path are ignored)",
    ),
    "model_config_file_poll_wait_seconds": (
        float,
        0.0,
        "model_config_file_poll_wait_seconds",
        "re-read --model_config_file this often (0: never)",
    ),
    "file_system_poll_wait_seconds": (
        float,
        1.0,
        "poll_seconds",
        "Interval in seconds between each poll of the filesystem for new model "
        "versions (> 0 in the local server)",
    ),
    "monitoring_config_file": (
        str,
        None,
        "monitoring_config_file",
        "a MonitoringConfig text file enabling Prometheus metrics on the REST port",
    ),
    "rest_api_timeout_in_ms": (
        int,
        30000,
        "rest_api_timeout_in_ms",
        "Timeout for HTTP/REST API calls. The local server applies it to reading the "
        "request (a stalled client is cut off); a running model is not interrupted.",
    ),
    "grpc_max_threads": (
        int,
        8,
        "grpc_max_threads",
        "Max grpc server threads to handle grpc messages.",
    ),
    "enable_model_warmup": (
        _flag_bool,
        True,
        "enable_model_warmup",
        "Replay assets.extra/tf_serving_warmup_requests when a version loads, before it "
        "is AVAILABLE (a failing record fails the load).",
    ),
    "enable_signature_method_name_check": (
        _flag_bool,
        False,
        "enable_signature_method_name_check",
        "Enable method_name check for SignatureDef.",
    ),
    "enable_batching": (
        _flag_bool,
        False,
        "enable_batching",
        "batch concurrent Predict calls (tfx_ext.serving.batching)",
    ),
    "batching_parameters_file": (
        str,
        None,
        "batching_parameters_file",
        "a BatchingParameters file, read only with --enable_batching",
    ),
}

# Flags TF Serving has that the local server does not honour: named in a one-line refusal.
_TF_SERVING_UNSUPPORTED = (
    "grpc_socket_path",
    "rest_api_num_threads",
    "rest_api_enable_cors_support",
    "allow_version_labels_for_unavailable_models",
    "enable_per_model_batching_parameters",
    "num_load_threads",
    "num_unload_threads",
    "max_num_load_retries",
    "load_retry_interval_micros",
    "flush_filesystem_caches",
    "tensorflow_session_parallelism",
    "tensorflow_session_config_file",
    "tensorflow_intra_op_parallelism",
    "tensorflow_inter_op_parallelism",
    "use_alts_credentials",
    "ssl_config_file",
    "platform_config_file",
    "per_process_gpu_memory_fraction",
    "saved_model_tags",
    "grpc_channel_arguments",
    "num_request_iterations_for_warmup",
    "remove_unused_fields_from_bundle_metagraph",
    "prefer_tflite_model",
    "num_tflite_pools",
    "num_tflite_interpreters_per_pool",
    "xla_cpu_compilation_enabled",
    "xla_gpu_compilation_enabled",
    "enable_profiler",
    "thread_pool_factory_config_file",
    "mixed_precision",
    "skip_initialize_tpu",
    "enable_grpc_healthcheck_service",
    "enable_serialization_as_tensor_content",
)


def _add_tf_serving_flags(parser, tf_serving_defaults):
    """TF Serving's flag names; `tf_serving_defaults=False` keeps `tfx-ext serve`'s own defaults for
    the destinations its hyphenated flags share (REST on 8501)."""
    for name, (kind, default, dest, text) in _TF_SERVING_FLAGS.items():
        if not tf_serving_defaults and any(action.dest == dest for action in parser._actions):
            parser.add_argument(
                f"--{name}", dest=dest, type=kind, help=f"TF Serving's flag: {text}"
            )
            continue
        parser.add_argument(
            f"--{name}", dest=dest, type=kind, default=default, help=f"TF Serving's flag: {text}"
        )


_BOOL_FLAGS = {f"--{n}" for n, (kind, *_rest) in _TF_SERVING_FLAGS.items() if kind is _flag_bool}


def _bare_booleans(argv):
    """TF Serving's `--enable_model_warmup` means `--enable_model_warmup=true`."""
    return [f"{arg}=true" if arg in _BOOL_FLAGS else arg for arg in argv]


def _refuse_extra(parser, prog, extras):
    """One line naming the first flag the local server does not take (TF Serving's word for
    unknown ones), exit code 2."""
    for arg in extras:
        name = arg.split("=", 1)[0].lstrip("-")
        if arg.startswith("--") and name in _TF_SERVING_UNSUPPORTED:
            parser.exit(
                2,
                f"{prog}: error: TF Serving's flag --{name} is not supported by the local model "
                "server (a test double, not TF Serving)\n",
            )
    parser.exit(2, f"{prog}: error: unknown argument: {extras[0]}\n")


def _run_serve(parser, prog, args):
    try:
        _serve(args)
    except (ValueError, TypeError, OSError) as error:
        # A user mistake (bad argument, missing file): one line, not a traceback.
        parser.exit(2, f"{prog}: error: {error}\n")
    return 0


def tensorflow_model_server(argv=None):
    """The `tensorflow_model_server` command: the local server with TF Serving's flags.

    `tensorflow_model_server --port=8500 --rest_api_port=8501 --model_name=my_model
    --model_base_path=/models/my_model` serves as TF Serving's binary would (REST is off unless
    `--rest_api_port` is given, as there), binding `--host` (127.0.0.1 by default).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    prog = "tensorflow_model_server"
    parser = argparse.ArgumentParser(
        prog=prog,
        allow_abbrev=False,
        description="tfx_ext's local model server (a test double, not TF Serving) with TF Serving's flags",
    )
    _add_tf_serving_flags(parser, tf_serving_defaults=True)
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (TF Serving binds 0.0.0.0)"
    )
    parser.add_argument(
        "--version", dest="display_version", type=_flag_bool, default=False, help="Display version"
    )
    argv = sys.argv[1:] if argv is None else list(argv)
    args, extras = parser.parse_known_args(
        _bare_booleans([a if a != "--version" else "--version=true" for a in argv])
    )
    if extras:
        _refuse_extra(parser, prog, extras)
    if args.display_version:
        import tensorflow as tf

        import tfx_ext

        print(
            f"TensorFlow ModelServer: tfx_ext {tfx_ext.__version__} local model server (a test double)\n"
            f"TensorFlow Library: {tf.__version__}"
        )
        return 0
    if not args.model_base_path and not args.model_config_file:
        parser.exit(
            2,
            f"{prog}: error: Both server_options.model_base_path and "
            "server_options.model_config_file are empty!\n",
        )
    args.base_dir = None
    return _run_serve(parser, prog, args)


def _inspect(args):
    from tfx_ext.export import format_signatures, inspect_saved_model

    print(format_signatures(inspect_saved_model(args.path)))


def _demo(args):
    from tfx_ext import demo as demo_module

    demo_module.main(["--output-dir", args.output_dir, "--epochs", str(args.epochs)])


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(prog="tfx-ext", description="tfx_ext tools")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("version", help="print tfx_ext's and its stack's versions")
    commands.add_parser("components", help="list the registered Keras components")
    tflite = commands.add_parser(
        "tflite", help="convert a .keras model to TFLite and print the parity report"
    )
    tflite.add_argument("model", help="a .keras file")
    tflite.add_argument("--mode", default="float32", choices=list(MODES))
    tflite.add_argument("--engine", default="converter", choices=list(ENGINES))
    tflite.add_argument("--representative", help="an .npz with the calibration / comparison inputs")
    tflite.add_argument("--x-key", default="x", help="array of inputs in the .npz (default: x)")
    tflite.add_argument(
        "--y-key", default="y", help="array of labels in the .npz, if any (default: y)"
    )
    tflite.add_argument("--out", required=True, help="the .tflite file to write")
    serve = commands.add_parser(
        "serve",
        help="serve SavedModels over TF Serving's REST and gRPC protocols (local test double)",
    )
    serve.add_argument("base_dir", nargs="?", help="models directory (each subdirectory a model)")
    serve.add_argument(
        "--model-config-file",
        dest="model_config_file",
        help="a models.config instead of a base directory",
    )
    serve.add_argument(
        "--rest-port", dest="rest_port", type=int, default=8501, help="0 turns REST off"
    )
    serve.add_argument(
        "--grpc-port", dest="grpc_port", type=int, default=8500, help="0 turns gRPC off"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--poll-seconds", dest="poll_seconds", type=float, default=1.0)
    serve.add_argument(
        "--model-config-file-poll-wait-seconds",
        dest="model_config_file_poll_wait_seconds",
        type=float,
        default=0.0,
        help="re-read --model-config-file this often (0: never)",
    )
    serve.add_argument(
        "--monitoring-config-file",
        dest="monitoring_config_file",
        help="a MonitoringConfig text file enabling Prometheus metrics on the REST port",
    )
    serve.add_argument(
        "--enable-signature-method-name-check",
        dest="enable_signature_method_name_check",
        action="store_true",
        default=False,
        help="refuse classify/regress on signatures saved with another method name",
    )
    _add_tf_serving_flags(serve, tf_serving_defaults=False)
    inspect = commands.add_parser("inspect", help="list a SavedModel's signatures")
    inspect.add_argument("path")
    demo = commands.add_parser("demo", help="run the end-to-end demo on the digits data")
    demo.add_argument("--output-dir", default="demo_output")
    demo.add_argument("--epochs", type=int, default=12)
    argv = sys.argv[1:] if argv is None else list(argv)
    args, extras = parser.parse_known_args(_bare_booleans(argv))
    if extras and args.command != "serve":
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    if extras:
        _refuse_extra(parser, "tfx-ext serve", extras)
    if args.command == "serve":
        if not args.base_dir and not args.model_config_file and not args.model_base_path:
            parser.error("serve needs BASE_DIR or --model-config-file (or --model_base_path)")
        return _run_serve(parser, "tfx-ext serve", args)
    commands_by_name = {
        "version": lambda: print(_versions()),
        "components": lambda: print(_components()),
        "tflite": lambda: _tflite(args),
        "inspect": lambda: _inspect(args),
        "demo": lambda: _demo(args),
    }
    try:
        commands_by_name[args.command]()
    except (ValueError, TypeError, OSError) as error:
        # A user mistake (bad argument, missing file): one line, not a traceback.
        parser.exit(2, f"tfx-ext {args.command}: error: {error}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
