"""qpsnn command line. Exit codes: 0 ok, 1 the design failed a check, 2 bad input."""

from __future__ import annotations

import argparse
import json
import os
import sys

from qpsnn.errors import DesignError, InputError

EXAMPLES = """examples:
  qpsnn flow --spec examples/mnist_skeleton.yaml --out out/mnist
  qpsnn validate --spec examples/mnist_skeleton.yaml
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="qpsnn", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES,
        description="Compressed spiking networks (QP-SNN) to verified FPGA accelerators.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_flow = sub.add_parser("flow", help="train, export, HLS C-sim and RTL sim, all checked bit for bit",
                            epilog="example: qpsnn flow --spec examples/mnist_skeleton.yaml --out out/mnist")
    p_flow.add_argument("--spec", required=True, help="network spec (YAML)")
    p_flow.add_argument("--out", required=True, help="output directory (replaced atomically)")
    p_flow.add_argument("--no-hls", action="store_true", help="skip the hls4ml project and its C simulation")
    p_flow.add_argument("--no-rtl", action="store_true", help="skip the RTL generation and simulation")
    p_val = sub.add_parser("validate", help="check a spec and print it with defaults filled in",
                           epilog="example: qpsnn validate --spec examples/mnist_skeleton.yaml")
    p_val.add_argument("--spec", required=True)
    args = parser.parse_args(argv)

    try:
        from qpsnn.spec import load_spec

        spec = load_spec(args.spec)
        if args.command == "validate":
            print(json.dumps(spec.to_dict(), indent=1))
            return 0
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from qpsnn.flow import run_flow

        report = run_flow(spec, args.out, hls=not args.no_hls, rtl=not args.no_rtl)
        acc = report["accuracy"]
        print(f"[qpsnn] accuracy: float {acc['float_model']:.4f}, golden {acc['golden']:.4f}, "
              f"agreement {acc['float_golden_agreement']:.4f}")
        for path, res in report["bit_exact"].items():
            print(f"[qpsnn] bit-exact {path}: {res['mismatches']} mismatches in {res['images']} images")
        if "latency" in report:
            print(f"[qpsnn] cycles per image (RTL, measured): {report['latency']['cycles_per_image_measured']:.0f}")
        print(f"[qpsnn] wrote {os.path.abspath(args.out)}")
        return 0
    except InputError as exc:
        print(f"qpsnn: error: {exc}", file=sys.stderr)
        return 2
    except DesignError as exc:
        print(f"qpsnn: design check failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
