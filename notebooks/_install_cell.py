# 준비: mitbadak이 없을 때만 설치합니다. 이미 있으면 아무 일도 하지 않으니 여러 번 실행해도
# 됩니다. 설치할 곳은 (1) 이 노트북이 들어 있는 mitbadak 저장소, (2) 환경 변수
# MITBADAK_SOURCE가 가리키는 wheel 파일이나 소스 폴더 순서로 찾습니다. 아직 PyPI에 올리지
# 않은 이름이라 `pip install mitbadak`은 하지 않습니다(남이 올린 다른 패키지가 깔릴 수 있습니다).
import importlib
import importlib.util
import os
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path


def _is_mitbadak_checkout(folder: Path) -> bool:
    try:
        project = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return project.get("project", {}).get("name") == "mitbadak"


def _mitbadak_source() -> Path:
    here = Path.cwd().resolve()  # Jupyter와 VS Code는 노트북이 있는 폴더에서 커널을 띄웁니다
    for folder in (here, *here.parents):
        if _is_mitbadak_checkout(folder):
            return folder
    named = os.environ.get("MITBADAK_SOURCE", "").strip()
    if named:
        path = Path(named).expanduser().resolve()
        wheel = path.is_file() and path.name.startswith("mitbadak-") and path.suffix == ".whl"
        if wheel or (path.is_dir() and _is_mitbadak_checkout(path)):
            return path
        raise FileNotFoundError(
            f"MITBADAK_SOURCE={named!r}: mitbadak의 wheel 파일(.whl)도, pyproject.toml이 있는 "
            "mitbadak 소스 폴더도 아닙니다."
        )
    print(
        "mitbadak을 찾지 못했습니다. 다음 중 하나를 한 뒤 이 셀을 다시 실행하세요.\n"
        "  1. mitbadak 저장소를 git clone으로 받고, 그 안의 notebooks/ 폴더에서 노트북을 엽니다.\n"
        "  2. 이미 받아 둔 mitbadak 소스 폴더나 wheel 파일(.whl)의 경로를 환경 변수\n"
        "     MITBADAK_SOURCE에 넣습니다. 노트북 안에서라면 이 셀 맨 위에 다음 줄을 넣습니다.\n"
        '     os.environ["MITBADAK_SOURCE"] = "/content/mitbadak"   # 예: Colab에 받은 저장소\n'
        "  3. 터미널에서 직접 설치합니다: python -m pip install <mitbadak 소스 폴더>"
    )
    raise ModuleNotFoundError("mitbadak이 설치되어 있지 않고, 설치할 소스도 찾지 못했습니다.")


if importlib.util.find_spec("mitbadak") is None:
    command = [sys.executable, "-m", "pip", "install", "--quiet", str(_mitbadak_source())]
    print("설치합니다:", shlex.join(command))
    if os.environ.get("MITBADAK_INSTALL_DRY_RUN") == "1":  # 테스트용: 명령만 보여 주고 멈춤
        raise SystemExit(0)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout, done.stderr, sep="\n")
        raise RuntimeError(f"mitbadak 설치에 실패했습니다(pip 종료 코드 {done.returncode}).")
    importlib.invalidate_caches()

mitbadak = importlib.import_module("mitbadak")
print("mitbadak", mitbadak.__version__)
