"""레슨 04의 새 프로세스: ``keras.saving.load_model``로 ``.keras`` 파일(체크포인트)을 다시 열어 봅니다.

사용법::

    python notebooks/ko/scripts/reopen_checkpoint.py MODEL.keras REPORT.json

이 프로세스에는 직접 임포트한 것만 있고, 노트북에서 정의한 클래스는 없습니다. ``REPORT.json``에는
``{"model_class": ...}``(파일을 다시 열었을 때)나 ``{"error": ...}``를 기록합니다. ``"error"``의 값은
이 프로세스가 모르는 클래스 이름이 파일에 있을 때 케라스가 일으키는 ``TypeError``의 메시지입니다.
"""

import json
import sys

import keras


def main(path: str, report: str) -> None:
    try:
        model = keras.saving.load_model(path)
    except TypeError as exc:
        outcome = {"error": str(exc)}
    else:
        outcome = {"model_class": type(model).__name__}
    with open(report, "w", encoding="utf-8") as file:
        json.dump(outcome, file)


if __name__ == "__main__":
    main(*sys.argv[1:])
