// The REST API of the edge that served this page, with the session's token.

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export function createApi(getToken) {
  return async function api(method, path, body, attempt = 0) {
    const headers = {};
    const token = getToken();
    if (token) headers.Authorization = token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(`/api/v10${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (response.status === 429 && attempt < 3) {
      await new Promise((resolve) => setTimeout(resolve, (data?.retry_after ?? 1) * 1000));
      return api(method, path, body, attempt + 1);
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  };
}
