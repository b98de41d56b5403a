"""``mitbadak check``의 보고서, 한국어판. 키는 ``check_en``과 같습니다.

용어는 한국어판 『밑바닥부터 시작하는 딥러닝』을 따릅니다: 계층, 순전파, 역전파, 기울기,
수치 미분, 중심 차분, 형상, 전치, 편향, 배치 크기.
"""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # --- 보고서의 틀 ---
    "status.pass": "통과",
    "status.fail": "실패",
    "status.note": "참고",
    "status.skip": "생략",
    "header": "mitbadak check {target}",
    "kind.layer": "계층: forward(x) -> out, backward(dout) -> dx",
    "kind.loss": "손실 계층: forward(x, t) -> 손실, backward(dout=1) -> dx",
    "kind.node": "입력이 둘인 노드: forward(x, y) -> out, backward(dout) -> (dx, dy)",
    "inputs.layer": "x: {x} 무작위 값(|x| >= 0.1), dout: out과 같은 형상의 정규분포 난수",
    "inputs.loss": "x: {x} 무작위 점수, t: {x} 원-핫 레이블",
    "inputs.loss_index": "x: {x} 무작위 점수, t: 클래스 번호 레이블(forward가 원-핫 레이블에서 오류를 냈습니다)",
    "inputs.node": "x와 y: {x} 무작위 값(|x| >= 0.1), dout: 정규분포 난수",
    "params": "매개변수: {names}",
    "params.none": "매개변수: 없음",
    "verdict.pass": "판정: 검사 {count}개를 모두 통과했습니다 (종료 코드 0)",
    "verdict.fail": "판정: 검사 {count}개 중 {failed}개가 실패했습니다 (종료 코드 1)",
    # --- 검사 항목 ---
    "check.construct": "생성자에서 오류가 납니다",
    "check.forward.pass": "forward 실행: out의 형상은 {shape}",
    "check.forward.fail": "forward에서 오류가 납니다",
    "check.reference.pass": "forward가 책의 {name} 계층과 같은 값을 계산합니다",
    "check.reference.fail": "forward가 책의 {name} 계층과 다른 값을 계산합니다",
    "check.input_unchanged.pass": "forward가 입력 {name}를 바꾸지 않습니다",
    "check.input_unchanged.fail": "forward가 입력 {name}를 그 자리에서 바꿉니다",
    "check.backward.pass": "backward 실행: dx의 형상은 {shape}",
    "check.backward.fail": "backward에서 오류가 납니다",
    "check.dout_unchanged.pass": "backward가 dout을 바꾸지 않습니다",
    "check.dout_unchanged.fail": "backward가 dout에 값을 덮어씁니다",
    "check.not_aliased.pass": "backward가 dout 자체가 아닌 새 배열을 돌려줍니다",
    "check.not_aliased.fail": "backward가 돌려준 d{name}가 새 배열이 아니라 dout 그 자체입니다",
    "check.not_aliased.note": "d{name}는 dout과 메모리를 공유하는 뷰(view)입니다",
    "check.grad_set": "backward가 {name}를 저장하지 않습니다",
    "check.shape.pass": "{name}의 형상이 {shape}로 맞습니다",
    "check.shape.fail": "{name}의 형상이 {got}입니다. {shape}여야 합니다",
    "check.gradient.pass": "{name}가 중심 차분과 일치합니다 (상대 오차 {error:.1e})",
    "check.gradient.fail": "{name}가 중심 차분과 일치하지 않습니다",
    "check.forward_twice.pass": "forward를 두 번 부른 뒤 backward: 마지막 입력을 씁니다",
    "check.forward_twice.fail": "forward를 두 번 부른 뒤 backward: 첫 호출의 값으로 계산합니다({names})",
    "check.forward_twice.skip": "forward를 두 번 부른 뒤 backward",
    "check.two_instances.pass": "같은 클래스의 두 객체가 상태를 따로 가집니다",
    "check.two_instances.fail": "두 객체가 상태를 공유합니다: 한쪽의 forward가 다른 쪽의 backward({names})를 바꿉니다",
    "check.two_instances.skip": "같은 클래스의 두 객체가 상태를 따로 가집니다",
    "check.backward_twice.pass": "backward를 두 번 불러도 기울기가 같습니다",
    "check.backward_twice.fail": "backward를 다시 부르면 {names}가 달라집니다",
    "check.backward_twice.skip": "backward를 두 번 불러도 기울기가 같습니다",
    "check.state": "forward나 backward를 다시 부르면 오류가 납니다",
    "check.loss_dout": "backward가 dout을 무시합니다",
    # --- 사실 ---
    "info.raised": "{error}: {message} ({line}번째 줄: {source})",
    "info.raised_here": "{error}: {message}",
    "info.first_difference": "처음 다른 곳은 {index}입니다: 작성한 값 {got:.6g}, 책의 값 {expected:.6g}.",
    "info.shape_differs": "out의 형상이 {got}입니다. 책의 계층은 {expected}를 냅니다.",
    "info.dout_changed": (
        "받은 dout의 원소 {total}개 중 {count}개를 바꿨습니다. 처음 바뀐 곳은 {index}입니다"
        "(바뀌기 전 {before:.4g}, 바뀐 뒤 {after:.4g})."
    ),
    "info.view_of_dout": (
        "받은 dout에 값을 덮어쓰는 계층(책의 Relu처럼)이 없다면 괜찮습니다. "
        "dout.reshape(...).copy()로 쓰면 어디서나 안전합니다."
    ),
    "info.band.exact": "1e-7보다 작습니다: float64의 반올림 오차 안에서 같습니다. 이 기울기는 맞습니다.",
    "info.band.close": (
        "{error:.1e}는 1e-7과 1e-5 사이로, 거의 일치합니다. 이 정도 차이는 중심 차분의 "
        "간격 h나 꺾이는 점 근처의 입력(0에서의 ReLU, max의 동점) 때문에 생깁니다."
    ),
    "info.band.suspicious": (
        "{error:.1e}는 1e-5와 1e-2 사이입니다: 가깝지만 같지는 않습니다. 보통 작은 항 하나가 "
        "빠졌거나 틀린 경우입니다(엡실론, 두 번 쓰인 값의 두 경로 중 하나)."
    ),
    "info.band.wrong": "{error:.1e}는 1e-2보다 큽니다: backward가 forward의 미분을 계산하지 않습니다.",
    "info.first_mismatch": (
        "처음 틀린 원소는 {index}입니다: 오차역전파 {backprop:.6g}, 수치 미분 {numerical:.6g}."
    ),
    "info.random_forward": (
        "검사하지 않았습니다: 같은 입력에도 forward의 출력이 매번 다릅니다(자체 난수를 "
        "씁니다). 그래서 두 호출을 비교할 수 없습니다."
    ),
    "info.loss_ignores_dout": (
        "backward(2.0)이 backward(1.0)과 같은 값을 돌려줍니다. dout이 늘 1인 마지막 계층에서는 "
        "괜찮지만, 다른 곳이라면 연쇄 법칙에 따라 dout을 곱해야 합니다."
    ),
    # --- 짐작되는 원인 ---
    "hint.forward_returns_none": "forward가 None을 돌려줍니다. `return out`이 빠지지 않았나요?",
    "hint.no_return": "backward가 None을 돌려줍니다. `return dx`가 빠지지 않았나요?",
    "hint.node_returns_two": "입력이 둘인 노드의 backward는 기울기 두 개(dx, dy)를 돌려줘야 합니다.",
    "hint.mutates_input": (
        "호출한 쪽의 배열이 바뀝니다(예: x 자체에 x[mask] = 0). 복사본에서 작업하세요: "
        "out = x.copy()로 만든 다음 out을 바꿉니다."
    ),
    "hint.mutates_dout": (
        "dout은 다음 계층의 것이고 다시 쓰일 수 있습니다(두 번 쓰인 값은 같은 dout을 두 "
        "노드에 보냅니다). dx = dout * mask처럼 새 배열을 만들거나 dout.copy()에서 시작하세요."
    ),
    "hint.aliases_dout": (
        "dout을 그대로 돌려주면(dx = dout; return dx) 두 배열이 하나로 묶여, 한쪽을 바꾸면 "
        "다른 쪽도 바뀝니다. dx = dout * 1이나 dout.copy()처럼 새 배열을 돌려주세요."
    ),
    "hint.aliases_each_other": (
        "dx와 dy가 같은 배열이라 한쪽을 바꾸면 다른 쪽도 바뀝니다. 각각 dout * 1처럼 배열을 "
        "따로 돌려주세요."
    ),
    "hint.grad_not_set": "옵티마이저가 갱신에 쓸 수 있도록 backward에서 {name}를 저장해야 합니다.",
    "hint.bias_summed_all": (
        "{name}가 숫자 하나입니다: dout을 모든 축으로 더했습니다. 배치 축으로만 더하세요: "
        "np.sum(dout, axis=0)."
    ),
    "hint.bias_wrong_axis": (
        "{name}의 원소가 샘플마다 하나씩(N = {n}) 있습니다: dout을 엉뚱한 축으로 더했습니다. "
        "편향은 모든 행에 더해졌으니 행 방향으로 더해야 합니다: np.sum(dout, axis=0)."
    ),
    "hint.bias_keepdims": "{name}에 크기 1인 배치 축이 남았습니다. keepdims 없이 np.sum(dout, axis=0)을 쓰세요.",
    "hint.bias_not_summed": "{name}에 배치 축이 그대로 있습니다. dout을 행 방향으로 더하세요: np.sum(dout, axis=0).",
    "hint.transposed": (
        "{name}가 전치되어 있습니다. out = np.dot(x, W) + b일 때 dW = np.dot(x.T, dout)는 W와, dx = np.dot(dout, W.T)는 x와 "
        "형상이 같습니다. .T의 위치를 확인하세요."
    ),
    "hint.dx_not_reshaped": (
        "dx가 아직 평탄한 형상입니다. forward에서 x를 평탄화했으니 backward에서 dx를 x의 "
        "형상으로 되돌려야 합니다."
    ),
    "hint.shape_mismatch": "기울기는 언제나 원래 값과 형상이 같습니다: {name}는 {expected}여야 합니다.",
    "hint.matmul_shapes": (
        "행렬 곱의 두 피연산자 형상이 맞지 않습니다. 전치(.T)가 빠졌거나 자리가 틀렸을 "
        "가능성이 큽니다(dx = np.dot(dout, W.T), dW = np.dot(x.T, dout))."
    ),
    "hint.broadcast": "형상이 맞지 않는 두 배열이 만났습니다. 어느 쪽이 전치되었는지 확인하세요.",
    "hint.reshape": "원소 개수가 다른 형상으로 배열을 바꾸려 했습니다.",
    "hint.none_state": (
        "forward에서 저장했어야 할 값이 None입니다. backward가 쓰는 값(self.x, self.mask, "
        "self.out)을 forward에서 저장하나요?"
    ),
    "hint.signature": (
        "메서드는 책과 같은 인수로 호출됩니다: forward(x)(손실 계층은 forward(x, t), 노드는 "
        "forward(x, y))와 backward(dout)."
    ),
    "hint.zero_expected": "기울기는 어디서나 0이어야 하는데 backward가 0이 아닌 값을 냅니다.",
    "hint.zero_gradient": "기울기가 0이 아닌 곳에서 backward가 0을 냅니다.",
    "hint.missing_batch_division": (
        "오차역전파 값이 정확히 N = {n}배 큽니다: 배치 크기로 나누는 부분이 빠졌습니다. "
        "손실이 배치의 평균이므로 기울기는 (y - t) / N입니다."
    ),
    "hint.extra_batch_division": (
        "오차역전파 값이 정확히 N = {n}배 작습니다: 나누지 말아야 할 것을 배치 크기로 "
        "나눴습니다(db는 dout의 배치 평균이 아니라 합입니다)."
    ),
    "hint.sign_flipped": "오차역전파 값의 부호가 모두 반대입니다: (t - y)가 아니라 (y - t)입니다.",
    "hint.constant_factor": "오차역전파 값이 어디서나 참값의 {c:.4g}배입니다.",
    "hint.sigmoid_uses_x": (
        "backward가 입력 x로 x(1 - x)를 계산합니다. 시그모이드의 미분은 forward가 저장한 "
        "출력 y = sigmoid(x)로 쓴 y(1 - y)입니다."
    ),
    "hint.inverted_mask": (
        "마스크가 거꾸로입니다: 막아야 할 곳에서 기울기가 흐르고, 흘려야 할 곳에서 막힙니다. "
        "ReLU는 x > 0인 곳에서 dout을 흘려보냅니다."
    ),
    "hint.mask_missing": (
        "막아야 할 곳에서도 기울기가 흐릅니다: forward가 원소를 고르려고 저장한 것을 적용하지 "
        "않았습니다(ReLU는 x <= 0인 곳을, 드롭아웃은 버린 뉴런을, 최대 풀링은 각 영역의 "
        "최댓값이 아닌 곳을 막습니다)."
    ),
    "hint.blocks_too_much": (
        "흘려야 할 원소 {count}개에서 기울기가 막힙니다. 마스크의 조건이 너무 넓지 "
        "않나요(< 대신 <=)?"
    ),
    "hint.local_derivative_is": "backward가 dout에 {got}를 곱하는데, 이는 forward의 미분이 아닙니다.",
    "hint.wrong_local_derivative": "backward가 dout에 {got}를 곱합니다. forward의 미분은 {true}입니다.",
    "hint.not_swapped": (
        "곱셈 노드는 입력을 서로 바꿔 곱해야 합니다: dx = dout * y, dy = dout * x. "
        "d{name}가 상대 입력 대신 자기 입력을 썼습니다."
    ),
    "hint.scores_not_probabilities": (
        "backward가 소프트맥스 출력 y 자리에 점수 x를 씁니다: dx = (y - t) / N입니다."
    ),
    "hint.ignores_dout": (
        "backward가 국소적 미분만 돌려줍니다. 연쇄 법칙에 따라 들어온 dout을 곱해야 합니다."
    ),
    "hint.generic_mismatch": (
        "forward의 미분을 손으로 써서 backward와 항 하나하나 비교해 보세요. 위의 처음 틀린 "
        "원소에서 시작하면 좋습니다."
    ),
    "hint.not_finite": "기울기에 NaN이나 무한대가 있습니다.",
    "hint.batchnorm_paths": (
        "배치의 평균과 분산도 x에 따라 달라지므로 항이 두 개 더 생깁니다: dxn = dout * gamma라 "
        "하면 dx = (dxn - mean(dxn) - xn * mean(dxn * xn)) / std입니다(평균은 배치 축 방향)."
    ),
    "hint.pooling_max": (
        "최대 풀링은 각 출력의 기울기를 그 영역에서 최댓값이었던 입력 하나에만 보내고(위치는 "
        "forward에서 기억합니다), 나머지에는 0을 보냅니다."
    ),
    "hint.conv_rules": (
        "합성곱은 이미지 조각(im2col)에 대한 Affine입니다: dcol = np.dot(dout, W.T)를 이미지로 "
        "되돌리고(col2im), dW = np.dot(col.T, dout), db는 dout을 N, OH, OW 방향으로 더합니다."
    ),
    "hint.stale_state": (
        "backward가 첫 번째 forward 호출의 값을 썼습니다. backward에 필요한 값은 호출할 "
        "때마다 저장하세요(`if self.mask is None` 같은 조건은 한 번만 저장합니다)."
    ),
    "hint.shared_state": (
        "상태가 클래스나 전역 변수에 있어 모든 객체가 공유합니다. forward에서 self에 "
        "저장하세요(Relu.mask = ...가 아니라 self.mask = ...)."
    ),
    "hint.accumulates": (
        "두 번째 backward가 기울기를 두 배로 만들었습니다: 이전 값에 더하고(+=) 있습니다. "
        "self.dW = ...처럼 대입하세요."
    ),
    "hint.backward_changes_state": (
        "backward가 forward에서 저장한 값을 바꿔서, 두 번째 호출은 다른 것을 계산합니다."
    ),
    # --- 검사 전에 멈추는 오류 (한 줄) ---
    "error.bad_target": "FILE.py:ClassName 형식이어야 합니다. 받은 값: {target!r}",
    "error.no_file": "{path}: 파일이 없습니다",
    "error.not_python": "{path}: 파이썬 파일(.py)이 아닙니다",
    "error.syntax_error": "{path} {line}번째 줄: SyntaxError: {message}",
    "error.exit_at_import": (
        "{path}가 임포트되는 동안 sys.exit()를 불렀습니다. 스크립트 코드는 "
        "if __name__ == '__main__': 아래에 두세요"
    ),
    "error.import_failed": "{path}를 임포트할 수 없습니다: {error}: {message} ({line}번째 줄)",
    "error.no_class": "{path}에 {name!r} 클래스가 없습니다 (있는 클래스: {classes})",
    "error.not_a_class": "{path}의 {name!r}는 클래스가 아니라 {kind}입니다",
    "error.no_method": "{name}에 {method} 메서드가 없습니다",
    "error.cannot_guess_arg": (
        "{name}를 만들 수 없습니다: 생성자 인수 {arg!r}에 무엇을 넘길지 알 수 없습니다"
        "(아는 인수: W, b, gamma, beta, pool_h, pool_w, stride, pad, input_size, "
        "output_size, dropout_ratio)"
    ),
}
