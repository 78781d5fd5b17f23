/**
 * Exact nearest-code search by k-d tree, for small code dimensions (d ≤ 16).
 *
 * The matmul search (./search.ts) costs K·d multiply-adds per vector plus a pass
 * over K scores, whatever d is; at d = 4 the score pass dominates and a 262,144-code
 * search ran at ~2.3 ns per (vector, code) pair here, ~0.6 ms a vector. A k-d tree
 * answered in 10-50 µs there (bounding boxes keep it fast on a collapsed codebook
 * too), and is exact: same squared distance, same
 * winner up to float rounding in near-ties (distances here are float64 sums of
 * squared differences; the matmul search ranks float32 ‖e‖² − 2z·e). Ties go to
 * the lower code id, as in the matmul search. Not for large d, where a tree has
 * to visit most leaves anyway.
 */
const LEAF_SIZE = 8;

export const MAX_KD_TREE_DIM = 16;

export class KdTree {
  readonly size: number;
  readonly dim: number;
  /** Code vectors, float64, row-major, in tree order; ids[i] is the code id of row i. */
  private readonly points: Float64Array;
  private readonly ids: Int32Array;
  /** Per node: split dimension (−1 for a leaf), and children or leaf range. */
  private readonly splitDim: Int32Array;
  private readonly first: Int32Array;
  private readonly second: Int32Array;
  /** Per node, the bounding box of its codes: [min_0..min_{d-1}, max_0..max_{d-1}]. */
  private readonly boxes: Float64Array;
  private nodeCount = 0;

  constructor(codes: Float32Array | Float64Array, size: number, dim: number) {
    this.size = size;
    this.dim = dim;
    const order = new Int32Array(size);
    for (let i = 0; i < size; i++) order[i] = i;
    const maxNodes = 2 * Math.ceil(size / LEAF_SIZE) * 2 + 1;
    this.splitDim = new Int32Array(maxNodes);
    this.first = new Int32Array(maxNodes);
    this.second = new Int32Array(maxNodes);
    this.boxes = new Float64Array(maxNodes * 2 * dim);
    this.build(codes, order, 0, size);
    // Store the points in leaf order so that a leaf scan reads contiguous memory.
    this.points = new Float64Array(size * dim);
    this.ids = order;
    for (let i = 0; i < size; i++) for (let j = 0; j < dim; j++) this.points[i * dim + j] = codes[order[i]! * dim + j]!;
  }

  /** Builds the subtree over order[lo, hi); returns its node index. */
  private build(codes: Float32Array | Float64Array, order: Int32Array, lo: number, hi: number): number {
    const node = this.nodeCount++;
    const d = this.dim;
    // The node's bounding box; its widest side is where an inner node splits.
    let bestDim = 0;
    let bestSpread = -1;
    for (let j = 0; j < d; j++) {
      let min = Infinity;
      let max = -Infinity;
      for (let i = lo; i < hi; i++) {
        const v = codes[order[i]! * d + j]!;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      this.boxes[node * 2 * d + j] = min;
      this.boxes[node * 2 * d + d + j] = max;
      if (max - min > bestSpread) {
        bestSpread = max - min;
        bestDim = j;
      }
    }
    if (hi - lo <= LEAF_SIZE) {
      this.splitDim[node] = -1;
      this.first[node] = lo;
      this.second[node] = hi;
      return node;
    }
    const mid = (lo + hi) >> 1;
    quickSelect(codes, order, lo, hi - 1, mid, bestDim, d);
    this.splitDim[node] = bestDim;
    // Left holds order[lo, mid), right order[mid, hi): every left value ≤ split ≤ every right value.
    this.first[node] = this.build(codes, order, lo, mid);
    this.second[node] = this.build(codes, order, mid, hi);
    return node;
  }

  /** Nearest code id for each of the n query rows (row-major, dim columns). */
  nearest(queries: Float32Array | Float64Array, n: number): Int32Array {
    const out = new Int32Array(n);
    for (let q = 0; q < n; q++) {
      for (let j = 0; j < this.dim; j++) this.query[j] = queries[q * this.dim + j]!;
      this.best = Infinity;
      this.bestId = -1;
      this.search(0, this.boxDistance(0));
      out[q] = this.bestId;
    }
    return out;
  }

  // Per-query state of the recursive search.
  private readonly query: Float64Array = new Float64Array(MAX_KD_TREE_DIM);
  private best = Infinity;
  private bestId = -1;

  /**
   * Squared distance from the query to a node's bounding box: a lower bound for
   * every code in it. Bounding boxes (rather than the split planes alone) keep the
   * bound tight when the query is far from a dense clump of codes, the shape of a
   * collapsed VQ codebook, where plane bounds prune almost nothing.
   */
  private boxDistance(node: number): number {
    const d = this.dim;
    const base = node * 2 * d;
    let distance = 0;
    for (let j = 0; j < d; j++) {
      const v = this.query[j]!;
      const below = this.boxes[base + j]! - v;
      const above = v - this.boxes[base + d + j]!;
      const gap = below > 0 ? below : above > 0 ? above : 0;
      distance += gap * gap;
    }
    return distance;
  }

  /** Searches `node`, whose box is at squared distance `bound` from the query. */
  private search(node: number, bound: number): void {
    // <= keeps equal-distance codes reachable, so ties still go to the lower id.
    if (bound > this.best) return;
    if (this.splitDim[node]! < 0) {
      const d = this.dim;
      const query = this.query;
      for (let i = this.first[node]!; i < this.second[node]!; i++) {
        let distance = 0;
        const base = i * d;
        for (let j = 0; j < d; j++) {
          const diff = query[j]! - this.points[base + j]!;
          distance += diff * diff;
        }
        const id = this.ids[i]!;
        if (distance < this.best || (distance === this.best && id < this.bestId)) {
          this.best = distance;
          this.bestId = id;
        }
      }
      return;
    }
    const left = this.first[node]!;
    const right = this.second[node]!;
    const leftBound = this.boxDistance(left);
    const rightBound = this.boxDistance(right);
    // Nearer box first: it most likely holds the answer, which then prunes the other.
    if (leftBound <= rightBound) {
      this.search(left, leftBound);
      this.search(right, rightBound);
    } else {
      this.search(right, rightBound);
      this.search(left, leftBound);
    }
  }
}

/** Rearranges order[lo..hi] so order[k] holds the k-th smallest along `dimension`. */
function quickSelect(codes: Float32Array | Float64Array, order: Int32Array, lo: number, hi: number, k: number, dimension: number, d: number): void {
  while (hi > lo) {
    const pivot = codes[order[(lo + hi) >> 1]! * d + dimension]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (codes[order[i]! * d + dimension]! < pivot) i++;
      while (codes[order[j]! * d + dimension]! > pivot) j--;
      if (i <= j) {
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}
