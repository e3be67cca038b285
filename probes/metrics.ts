/**
 * Probe metrics from scores already computed on the engine: accuracy and ROC AUC.
 *
 * Scores are [n, K] row-major logits (K = 1 for a binary probe: class 1 when the logit is > 0,
 * as sklearn's decision_function > 0; K ≥ 3 for one-vs-rest: the argmax, as sklearn's
 * OneVsRestClassifier.predict).
 */

/** Predicted class of one row of scores. */
export function predictRow(scores: ArrayLike<number>, row: number, k: number): number {
  if (k === 1) return scores[row] > 0 ? 1 : 0;
  let best = 0;
  for (let j = 1; j < k; j++) if (scores[row * k + j] > scores[row * k + best]) best = j;
  return best;
}

/** Fraction of rows (indices into scores, in order) whose prediction equals y. */
export function accuracy(scores: ArrayLike<number>, k: number, y: ArrayLike<number>): number {
  const n = y.length;
  if (n === 0) return NaN;
  let hit = 0;
  for (let i = 0; i < n; i++) if (predictRow(scores, i, k) === y[i]) hit++;
  return hit / n;
}

/**
 * Binary ROC AUC as sklearn's roc_auc_score: the Mann–Whitney statistic with tied scores counted
 * one half (average ranks). NaN when only one class is present.
 */
export function binaryAuc(score: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const n = score.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[a] - score[b]);
  let nPos = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && score[order[j + 1]] === score[order[i]]) j++;
    const rank = (i + j) / 2 + 1; // average 1-based rank of the tie group
    for (let t = i; t <= j; t++) if (positive[order[t]]) { nPos++; rankSum += rank; }
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * AUC of a probe: binary AUC of the logit for K = 1; for K ≥ 3 the unweighted mean over classes
 * of the one-vs-rest AUC of that class's logit (sklearn's multi_class="ovr", average="macro").
 * Classes absent from y are left out of the mean.
 */
export function probeAuc(scores: ArrayLike<number>, k: number, y: ArrayLike<number>): number {
  const n = y.length;
  if (k === 1) return binaryAuc(scores, Array.from({ length: n }, (_, i) => y[i] === 1));
  const aucs: number[] = [];
  for (let c = 0; c < k; c++) {
    const col = Array.from({ length: n }, (_, i) => scores[i * k + c]);
    const auc = binaryAuc(col, Array.from({ length: n }, (_, i) => y[i] === c));
    if (!Number.isNaN(auc)) aucs.push(auc);
  }
  return aucs.length === 0 ? NaN : aucs.reduce((a, b) => a + b, 0) / aucs.length;
}

/** Accuracy of always predicting the most frequent class of `train` on `test` (the chance level shown in reports). */
export function majorityAccuracy(trainY: ArrayLike<number>, testY: ArrayLike<number>, classes: number): number {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < trainY.length; i++) counts[trainY[i]]++;
  const top = counts.indexOf(Math.max(...counts));
  if (testY.length === 0) return NaN;
  let hit = 0;
  for (let i = 0; i < testY.length; i++) if (testY[i] === top) hit++;
  return hit / testY.length;
}
