// The 400 messages of the DLQ service name the parameter that is wrong.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validationMessage } from '../../services/dlq-service/error-handler.ts';

const issue = (keyword: string, instancePath: string, params: Record<string, unknown>, message?: string) => ({
  keyword,
  instancePath,
  schemaPath: '',
  params,
  message,
});

describe('validation messages', () => {
  it('name the parameter and where it was', () => {
    assert.equal(
      validationMessage('querystring', issue('maximum', '/limit', { limit: 500 }, 'must be <= 500')),
      'query parameter "limit" must be <= 500',
    );
    assert.equal(
      validationMessage('params', issue('pattern', '/id', {}, 'must match pattern "^x$"')),
      'path parameter "id" must match pattern "^x$"',
    );
    assert.equal(
      validationMessage('body', issue('type', '/force', {}, 'must be boolean')),
      'body property "force" must be boolean',
    );
  });

  it('name unknown and missing parameters, and list allowed values', () => {
    assert.equal(
      validationMessage('querystring', issue('additionalProperties', '', { additionalProperty: 'prodcut' })),
      'unknown query parameter "prodcut"',
    );
    assert.equal(
      validationMessage('body', issue('required', '', { missingProperty: 'limit' })),
      'body property "limit" is required',
    );
    assert.equal(
      validationMessage(
        'querystring',
        issue('enum', '/failureClass', { allowedValues: ['a', 'b'] }, 'must be equal to one of the allowed values'),
      ),
      'query parameter "failureClass" must be equal to one of the allowed values: a, b',
    );
  });

  it('speak of the body as a whole when it is the body that is wrong', () => {
    assert.equal(validationMessage('body', issue('type', '', {}, 'must be object')), 'the body must be object');
  });
});
