// CPU reference of the spectral family: the log energy of complex values stored as a real block then an
// imaginary block, z [outer, 2, inner] → [outer, inner], out = log(re² + im² + floor) (the filter bank's log
// band energies: its conv1d output [N, 2F, T] is [N, 2, F·T]). Plain loops in float64.

/** Calls visit(i, r) for each output i and the index r of its real part in z (its imaginary part is r + inner). */
function forEachPair(outer: number, inner: number, visit: (i: number, r: number) => void): void {
  for (let b = 0; b < outer; b++) for (let j = 0; j < inner; j++) visit(b * inner + j, 2 * b * inner + j);
}

export function logEnergy(z: ArrayLike<number>, outer: number, inner: number, floor: number): Float64Array {
  const out = new Float64Array(outer * inner);
  forEachPair(outer, inner, (i, r) => (out[i] = Math.log(z[r] ** 2 + z[r + inner] ** 2 + floor)));
  return out;
}

/** dz_re = 2·re·g/e, dz_im = 2·im·g/e, e = re² + im² + floor. */
export function logEnergyBackward(z: ArrayLike<number>, g: ArrayLike<number>, outer: number, inner: number, floor: number): Float64Array {
  const dz = new Float64Array(2 * outer * inner);
  forEachPair(outer, inner, (i, r) => {
    const [re, im] = [z[r], z[r + inner]];
    const ge = g[i] / (re * re + im * im + floor);
    dz[r] = 2 * re * ge;
    dz[r + inner] = 2 * im * ge;
  });
  return dz;
}
