"""레슨 04의 새 프로세스: 저장된 서브클래싱 모델을 불러와 저장된 샘플로 예측합니다.

사용법::

    python notebooks/ko/scripts/predict_saved_model.py MODEL.keras SAMPLE.npz OUT.npz

이 프로세스는 노트북을 본 적이 없습니다. 그래도 ``CustomerTicketModel``을 다시 만들 수 있는 이유는
``keraslab.models``를 임포트하면 이 클래스가 등록되기 때문입니다(``@keras.saving.register_keras_serializable``).
``OUT.npz``에는 예측한 두 출력(``priority``, ``department``)과 불러온 모델의 정보(``model_class``,
``params``)를 기록합니다. 이 프로세스를 시작한 노트북이 이 파일을 읽습니다.
"""

import sys

import keras
import numpy as np

import keraslab.models  # noqa: F401  임포트하면 @register_keras_serializable이 실행됩니다


def main(model_path: str, sample_path: str, out_path: str) -> None:
    model = keras.saving.load_model(model_path)
    sample = dict(np.load(sample_path))
    priority, department = model.predict(sample, verbose=0)
    np.savez(out_path, priority=priority, department=department, model_class=type(model).__name__,
             params=model.count_params())


if __name__ == "__main__":
    main(*sys.argv[1:])
