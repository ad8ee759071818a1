// CloudFront Function (runtime cloudfront-js-2.0), viewer request, on every behavior of the
// distribution. It maps PROTOCOL.md's paths on the one origin to what each origin expects,
// answers 404 on the path of a strategy the project lacks or on any other path that is not a
// file, and serves index.html for /. The CDN stack fills in __STAGE__ and __STRATEGIES__
// (comma separated).
var STAGE = '__STAGE__';
var STRATEGIES = '__STRATEGIES__'.split(',');

function notFound() {
  return {
    statusCode: 404,
    statusDescription: 'Not Found',
    headers: { 'content-type': { value: 'text/plain' } },
    body: { encoding: 'text', data: 'This app has no strategy and no file at this path.' },
  };
}

function handler(event) {
  var request = event.request;
  var uri = request.uri;
  // WebSocket: an API Gateway WebSocket API connects on its stage root only.
  if (uri === '/ws' || uri.indexOf('/ws/') === 0) {
    if (STRATEGIES.indexOf('websocket') === -1 || uri.length > 4) return notFound();
    request.uri = '/' + STAGE;
    return request;
  }
  // SSE: the Function URL answers on any path.
  if (uri === '/sse' || uri.indexOf('/sse/') === 0) {
    return STRATEGIES.indexOf('sse') === -1 ? notFound() : request;
  }
  // REST: /api/generate is the resource /generate of the API's stage.
  if (uri.indexOf('/api/') === 0) {
    if (STRATEGIES.indexOf('rest') === -1) return notFound();
    request.uri = '/' + STAGE + uri.substring(4);
    return request;
  }
  // The web app: a file by its name, index.html for /. It has no routes of its own, so any
  // other path without a file extension is nobody's: 404, as make dev answers.
  if (uri === '/') request.uri = '/index.html';
  else if (uri.substring(uri.lastIndexOf('/') + 1).indexOf('.') === -1) return notFound();
  return request;
}
