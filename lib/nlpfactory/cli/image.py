"""`nlpfactory image build [--gpu] [--tag T] [--base IMAGE] [--torch-source SRC] [--uid N] [--push]`."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser("image", help="Build (and push) the image the components run in.")
    commands = parser.add_subparsers(dest="image_command", metavar="ACTION", required=True)
    p = commands.add_parser(
        "build", help="Build docker/Dockerfile through the Docker engine (layers are reused).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  nlpfactory image build                      # CPU, torch from PyTorch's CPU index\n"
               "  nlpfactory image build --base nlpfactory/base:bookworm --torch-source ./wheels\n"
               "  nlpfactory image build --gpu --tag registry.example.com/ml/nlpfactory:0.1.0-gpu --push")
    p.add_argument("--tag", default=None, help="Image name (default: the one the components name; "
                                                "with --gpu, that name with -gpu).")
    p.add_argument("--gpu", action="store_true", help="Torch's CUDA build (PyPI's Linux wheel) instead of the CPU one.")
    p.add_argument("--base", default="", help="Base image (default: python:3.11-slim when it is here or "
                                                "pulls, else nlpfactory/base:bookworm from `make base-image`).")
    p.add_argument("--torch-source", default="pytorch",
                   help="Where torch comes from: pytorch (its CPU index), pypi, an index URL, or a folder "
                        "of wheel files (served to the build on loopback).")
    p.add_argument("--torch-version", default="", help="Another torch version than the tested one.")
    p.add_argument("--ca-bundle", default=None,
                   help="A CA bundle pip trusts during the build only (default: the one pip on this "
                        "machine is told to use by PIP_CERT / REQUESTS_CA_BUNDLE / SSL_CERT_FILE, if any; "
                        "'' for none).")
    p.add_argument("--push", action="store_true", help="Push the image after building it.")
    p.add_argument("--uid", type=int, default=0,
                   help="User id the containers run as (default: yours, so a local run's outputs are "
                        "yours; 1000 when you are root). Use 1000 for an image meant for a cluster.")
    p.set_defaults(handler=_build)


def _build(args: argparse.Namespace) -> int:
    from nlpfactory.image import DEFAULT_TAG, ImageBuild, build, host_ca_bundle

    spec = ImageBuild(tag=args.tag or DEFAULT_TAG, gpu=args.gpu, base=args.base,
                      torch_source=args.torch_source, torch_version=args.torch_version,
                      ca_bundle=host_ca_bundle() if args.ca_bundle is None else args.ca_bundle, push=args.push,
                      uid=args.uid)
    built = build(spec)
    print(f"\nbuilt {built.tag}: {built.size_mb:.0f} MB")
    for instruction, mb in built.layers[:6]:
        print(f"  {mb:8.0f} MB  {instruction}")
    if built.pushed:
        print(f"pushed {built.tag}")
    return 0
