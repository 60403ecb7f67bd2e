"""The `tfx-ext` command."""

import argparse
import os
import sys


def _versions():
    import importlib.metadata as metadata

    import tfx_ext

    lines = [f"tfx_ext {tfx_ext.__version__}"]
    for package in ("tensorflow", "keras", "tf-keras", "tensorflow-model-optimization",
                    "keras-tuner", "ai-edge-litert", "litert-quantizer"):
        try:
            lines.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            lines.append(f"{package} (not installed)")
    return "\n".join(lines)


def _components():
    import keras

    import tfx_ext  # noqa: F401  (registers the components)

    names = [
        name for name in keras.saving.get_custom_objects() if name.startswith("tfx_ext>")
    ]
    return "\n".join(sorted(names))


def _tflite(args):
    import numpy as np

    import keras

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
    from tfx_ext.serving import LocalModelServer

    server = LocalModelServer(
        base_dir=None if args.model_config_file else args.base_dir,
        model_config_file=args.model_config_file,
        rest_port=args.rest_port,
        grpc_port=args.grpc_port,
        host=args.host,
        poll_seconds=args.poll_seconds,
        model_config_poll_seconds=args.model_config_file_poll_wait_seconds,
        monitoring_config_file=args.monitoring_config_file,
        enable_signature_method_name_check=args.enable_signature_method_name_check,
    )
    server.start()
    names = ", ".join(sorted(server.registry.models))
    print(f"tfx_ext local model server (a test double, not TF Serving) serving {names}: "
          f"REST {args.host}:{args.rest_port or 'off'}, gRPC {args.host}:{args.grpc_port or 'off'}", flush=True)
    for name, model in sorted(server.registry.models.items()):
        if not model.versions:
            problems = [s.error_message for s in model.states.values() if s.error_message]
            reason = problems[-1] if problems else f"no version directory under {model.base_path}"
            print(f"warning: model {name} has no servable version yet: {reason}", file=sys.stderr, flush=True)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


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
    tflite = commands.add_parser("tflite", help="convert a .keras model to TFLite and print the parity report")
    tflite.add_argument("model", help="a .keras file")
    tflite.add_argument("--mode", default="float32", choices=["float32", "float16", "dynamic_range", "int8", "int16x8"])
    tflite.add_argument("--engine", default="converter", choices=["converter", "litert_quantizer"])
    tflite.add_argument("--representative", help="an .npz with the calibration / comparison inputs")
    tflite.add_argument("--x-key", default="x", help="array of inputs in the .npz (default: x)")
    tflite.add_argument("--y-key", default="y", help="array of labels in the .npz, if any (default: y)")
    tflite.add_argument("--out", required=True, help="the .tflite file to write")
    serve = commands.add_parser("serve", help="serve SavedModels over TF Serving's REST and gRPC protocols (local test double)")
    serve.add_argument("base_dir", nargs="?", help="models directory (each subdirectory a model)")
    serve.add_argument("--model-config-file", help="a models.config instead of a base directory")
    serve.add_argument("--rest-port", type=int, default=8501, help="0 turns REST off")
    serve.add_argument("--grpc-port", type=int, default=8500, help="0 turns gRPC off")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--poll-seconds", type=float, default=1.0)
    serve.add_argument("--model-config-file-poll-wait-seconds", "--model_config_file_poll_wait_seconds",
                       dest="model_config_file_poll_wait_seconds", type=float, default=0.0,
                       help="re-read --model-config-file this often (0: never), as TF Serving's flag")
    serve.add_argument("--monitoring-config-file", "--monitoring_config_file", dest="monitoring_config_file",
                       help="a MonitoringConfig text file enabling Prometheus metrics on the REST port")
    serve.add_argument("--enable-signature-method-name-check", "--enable_signature_method_name_check",
                       dest="enable_signature_method_name_check", action="store_true",
                       help="refuse classify/regress on signatures saved with another method name (TF Serving's flag)")
    inspect = commands.add_parser("inspect", help="list a SavedModel's signatures")
    inspect.add_argument("path")
    demo = commands.add_parser("demo", help="run the end-to-end demo on the digits data")
    demo.add_argument("--output-dir", default="demo_output")
    demo.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args(argv)
    if args.command == "serve" and not args.base_dir and not args.model_config_file:
        parser.error("serve needs BASE_DIR or --model-config-file")
    commands_by_name = {
        "version": lambda: print(_versions()),
        "components": lambda: print(_components()),
        "tflite": lambda: _tflite(args),
        "serve": lambda: _serve(args),
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
