// CloudFront Function (runtime cloudfront-js-2.0), viewer request, on every behavior of the
// distribution. It maps PROTOCOL.md's paths on the one origin to what each origin expects,
// answers 404 on the path of a strategy the project lacks, and serves index.html for the web
// app's own routes. The CDN stack fills in __STAGE__ and __STRATEGIES__ (comma separated).
var STAGE = '__STAGE__';
var STRATEGIES = '__STRATEGIES__'.split(',');

function notFound(strategy) {
  return {
    statusCode: 404,
    statusDescription: 'Not Found',
    headers: { 'content-type': { value: 'text/plain' } },
    body: { encoding: 'text', data: 'This app has no ' + strategy + ' strategy.' },
  };
}

function handler(event) {
  var request = event.request;
  var uri = request.uri;
  // WebSocket: an API Gateway WebSocket API connects on its stage root only.
  if (uri === '/ws' || uri.indexOf('/ws/') === 0) {
    if (STRATEGIES.indexOf('websocket') === -1 || uri.length > 4) return notFound('websocket');
    request.uri = '/' + STAGE;
    return request;
  }
  // SSE: the Function URL answers on any path.
  if (uri === '/sse' || uri.indexOf('/sse/') === 0) {
    return STRATEGIES.indexOf('sse') === -1 ? notFound('sse') : request;
  }
  // REST: /api/generate is the resource /generate of the API's stage.
  if (uri.indexOf('/api/') === 0) {
    if (STRATEGIES.indexOf('rest') === -1) return notFound('rest');
    request.uri = '/' + STAGE + uri.substring(4);
    return request;
  }
  // The web app: a file by its name; any other path is one of the app's routes.
  if (uri.substring(uri.lastIndexOf('/') + 1).indexOf('.') === -1) request.uri = '/index.html';
  return request;
}
