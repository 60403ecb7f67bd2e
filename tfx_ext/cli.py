"""The `tfx-ext` command."""

import argparse
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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="tfx-ext", description="tfx_ext tools")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("version", help="print tfx_ext's and its stack's versions")
    commands.add_parser("components", help="list the registered Keras components")
    demo = commands.add_parser("demo", help="run the end-to-end demo on the digits data")
    demo.add_argument("--output-dir", default="demo_output")
    demo.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args(argv)
    if args.command == "version":
        print(_versions())
    elif args.command == "components":
        print(_components())
    else:
        from tfx_ext import demo as demo_module

        demo_module.main(["--output-dir", args.output_dir, "--epochs", str(args.epochs)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
