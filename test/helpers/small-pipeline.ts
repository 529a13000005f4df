/** A valid pipeline small enough to run in well under a second (20 curves of 10 points). */
export const SMALL_PIPELINE = `name: small
seed: 3
stages:
  simulate:
    uses: simulate
    with:
      n: 20
      model: damped-sine
      x: { start: 0, stop: 10, points: 10, jitter: 0.01 }
      params:
        A: { uniform: [0.5, 2.0] }
        B: { loguniform: [0.01, 1.0] }
        C: { uniform: [1, 5] }
        D: { uniform: [0, 3.14159] }
  noise:
    uses: add-noise
    needs: [simulate]
    with:
      gaussian: { relative: 0.05 }
  folds:
    uses: split-folds
    needs: [noise]
    with: { k: 4 }
`;
