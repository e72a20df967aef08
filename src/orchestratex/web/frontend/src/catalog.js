// Model key -> provider name, from GET /api/orchestrate/models/health (filled by main.js).

export const modelProviders = new Map();

export function modelLabel(model, provider) {
  const name = provider || modelProviders.get(model);
  return name ? `${model} (${name})` : model;
}
