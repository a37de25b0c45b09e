// The model the package ships: the default recipe trained on all ten EMO-DB speakers (German, acted; the corpus
// is republished under CC0 by audeering; Burkhardt et al., "A Database of German Emotional Speech",
// Interspeech 2005). `ser predict`, the page and the embedding API use it when no model is given.
// Rebuild it with `npm run ship-model` (scripts/ship-model.sh).

/** Where the shipped checkpoint lies relative to a built entry point (dist/node/*.js, dist/browser/*.js and
 * dist/web/*.js all sit two folders below the package root), as a URL: a file: URL in Node, the page's
 * server path in a browser. */
export function shippedModelUrl(from: string = import.meta.url): URL {
  return new URL('../../models/emodb.safetensors', from);
}

export const SHIPPED_MODEL_DESCRIPTION =
  'EMO-DB default model (German acted speech; angry, happy, sad, neutral, fear, disgust, boredom)';
