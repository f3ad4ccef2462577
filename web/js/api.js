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

/** A message with files, as multipart/form-data (payload_json and files[n]), reporting progress. */
export function createUploader(getToken) {
  return function upload(path, payload, files, onProgress) {
    const form = new FormData();
    form.append('payload_json', JSON.stringify({ ...payload, attachments: files.map((file, id) => ({ id, filename: file.name })) }));
    files.forEach((file, index) => form.append(`files[${index}]`, file, file.name));
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open('POST', `/api/v10${path}`);
      const token = getToken();
      if (token) request.setRequestHeader('Authorization', token);
      request.upload.addEventListener('progress', (event) => { if (event.lengthComputable) onProgress(event.loaded / event.total); });
      request.addEventListener('load', () => {
        let data = null;
        try { data = JSON.parse(request.responseText); } catch { /* not JSON */ }
        if (request.status >= 200 && request.status < 300) resolve(data); else reject(new ApiError(request.status, data));
      });
      request.addEventListener('error', () => reject(new ApiError(0, { message: 'The upload failed (network error).' })));
      request.send(form);
    });
  };
}
