"""environment.yml (conda) e requirements.txt (pip) devem fixar os mesmos pacotes e versões."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def pins(lines):
    return {line.strip() for line in lines if "==" in line and not line.strip().startswith("#")}


def test_environment_yml_matches_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "python=3.11" in env["dependencies"]
    requirements = pins((ROOT / "requirements.txt").read_text().splitlines())
    assert pins(pip_section) == requirements
    assert {"torch==2.14.1", "torchvision==0.29.1"} <= requirements
