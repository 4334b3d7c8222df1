// A strict local SNS for tests: the AWS Query protocol (form-encoded POST, XML replies) as the real SDK v3 client
// speaks it, for CreateTopic and Publish, with SNS's input rules (topic must exist, message size, subject text,
// message attribute names and types). Published messages are kept for assertions. See docs/testing.md.
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import {
  AwsServiceError,
  EMULATOR_ACCOUNT,
  FaultInjector,
  el,
  queryRequest,
  querySigV4,
  startQueryServer,
  type FailureSpec,
  type QueryApi,
} from './aws-protocol.js';

export type SnsAction = 'CreateTopic' | 'Publish';
const ACTIONS: readonly SnsAction[] = ['CreateTopic', 'Publish'];
const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';
const API: QueryApi<SnsAction> = { xmlns: XMLNS, version: '2010-03-31', actions: ACTIONS, allowGet: false };
/** SNS counts the message and its attributes together against 256 KiB. */
export const MAX_PUBLISH_BYTES = 262_144;
const TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}$/;
const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]{1,256}$/;

export interface PublishedMessage {
  topicArn: string;
  message: string;
  subject?: string;
  attributes: Record<string, { DataType: string; StringValue?: string }>;
  messageId: string;
  accessKeyId: string;
}

export interface SnsEmulator {
  url: string;
  calls: Record<SnsAction, number>;
  published: PublishedMessage[];
  /** Creates a topic directly (test set-up); returns its ARN. */
  createTopic(name: string, region?: string): string;
  failNext(action: SnsAction, spec: FailureSpec, times?: number): void;
  setDelay(ms: number): void;
  close(): Promise<void>;
}

const STATUS_BY_CODE: Record<string, number> = {
  InternalError: 500,
  Throttled: 400,
  NotFound: 404,
  AuthorizationError: 403,
};

export async function startSns(): Promise<SnsEmulator> {
  const topics = new Set<string>();
  const calls: Record<SnsAction, number> = { CreateTopic: 0, Publish: 0 };
  const published: PublishedMessage[] = [];
  const faults = new FaultInjector(STATUS_BY_CODE);
  let delayMs = 0;

  const createTopic = (name: string, region = 'us-east-1') => {
    if (!TOPIC_NAME.test(name)) {
      throw new AwsServiceError(
        'InvalidParameter',
        'Invalid parameter: Topic Name must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.',
      );
    }
    const arn = `arn:aws:sns:${region}:${EMULATOR_ACCOUNT}:${name}`;
    topics.add(arn);
    return arn;
  };

  const invalid = (what: string) => new AwsServiceError('InvalidParameter', `Invalid parameter: ${what}`);

  const publish = (params: URLSearchParams, accessKeyId: string): string => {
    const topicArn = params.get('TopicArn');
    const message = params.get('Message');
    const subject = params.get('Subject') ?? undefined;
    if (params.has('TargetArn') || params.has('PhoneNumber')) throw invalid('only TopicArn is supported here');
    if (!topicArn) throw invalid('TopicArn or TargetArn Reason: no value for required parameter');
    if (message === null) {
      throw new AwsServiceError(
        'ValidationError',
        "1 validation error detected: Value null at 'message' failed to satisfy constraint: Member must not be null",
      );
    }
    if (message.length === 0) throw invalid('Empty message');
    if (subject !== undefined) {
      // eslint-disable-next-line no-control-regex
      if (
        subject.length === 0 ||
        subject.length >= 100 ||
        !/^[\x20-\x7e]+$/.test(subject) ||
        !/^[A-Za-z0-9\p{P}]/u.test(subject)
      ) {
        throw invalid('Subject');
      }
    }
    const attributes: PublishedMessage['attributes'] = {};
    let attributeBytes = 0;
    for (let i = 1; ; i++) {
      const prefix = `MessageAttributes.entry.${i}`;
      const name = params.get(`${prefix}.Name`);
      if (name === null) break;
      if (i > 10) throw invalid('Too many message attributes');
      const dataType = params.get(`${prefix}.Value.DataType`);
      const stringValue = params.get(`${prefix}.Value.StringValue`) ?? undefined;
      if (
        !ATTRIBUTE_NAME.test(name) ||
        /^(aws\.|amazon\.)/i.test(name) ||
        name.includes('..') ||
        name.startsWith('.') ||
        name.endsWith('.')
      ) {
        throw invalid(`Message attribute name '${name}' is invalid`);
      }
      if (!dataType || !/^(String|Number|Binary)(\.[A-Za-z0-9_-]{1,200})?$/.test(dataType)) {
        throw invalid(`The message attribute '${name}' has an invalid message attribute type`);
      }
      if (dataType.startsWith('String') && (stringValue === undefined || stringValue.length === 0)) {
        throw invalid(`The message attribute '${name}' must contain non-empty message attribute value`);
      }
      attributes[name] = { DataType: dataType, ...(stringValue !== undefined ? { StringValue: stringValue } : {}) };
      attributeBytes += Buffer.byteLength(name) + Buffer.byteLength(dataType) + Buffer.byteLength(stringValue ?? '');
    }
    if (Buffer.byteLength(message) + attributeBytes > MAX_PUBLISH_BYTES) {
      throw invalid('Message too long');
    }
    if (!topics.has(topicArn)) throw new AwsServiceError('NotFound', 'Topic does not exist', 404);
    const messageId = randomUUID();
    published.push({
      topicArn,
      message,
      ...(subject !== undefined ? { subject } : {}),
      attributes,
      messageId,
      accessKeyId,
    });
    return el('MessageId', messageId);
  };

  const dispatch = (req: IncomingMessage, body: Buffer): { action: SnsAction; resultXml: string } => {
    const { action: known, params, caller } = queryRequest(req, body, API, () => querySigV4(req, 'sns'));
    calls[known]++;
    const injected = faults.take(known);
    if (injected) throw injected;
    if (known === 'CreateTopic') {
      return { action: known, resultXml: el('TopicArn', createTopic(params.get('Name') ?? '', caller.region)) };
    }
    return { action: known, resultXml: publish(params, caller.accessKeyId) };
  };

  const server = await startQueryServer({
    xmlns: XMLNS,
    maxBodyBytes: MAX_PUBLISH_BYTES * 4,
    getDelay: () => delayMs,
    dispatch,
  });
  return {
    url: server.url,
    calls,
    published,
    createTopic,
    failNext: (action, spec, times) => faults.failNext(action, spec, times),
    setDelay(ms) {
      delayMs = ms;
    },
    close: () => server.close(),
  };
}
