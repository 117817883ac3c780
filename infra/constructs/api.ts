import { Duration, Validations } from 'aws-cdk-lib';
import { CfnStage, HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { API_STAGE_THROTTLE } from '../../shared/definitions/rate-limits.js';
import { AUTHORIZER_CACHE_SECONDS, FALLBACK_HANDLER, HANDLER_NAMES, routeKey, routes, type HandlerName } from '../../shared/definitions/routes.js';

export interface LeadlogApiProps {
  handlers: Record<HandlerName, IFunction>;
  authorizer: IFunction;
  logKey: IKey;
  /** Steady-state requests per second and burst for the whole stage (default API_STAGE_THROTTLE: the account's quota). */
  throttle?: { rateLimit: number; burstLimit: number };
}

/**
 * The HTTP API: one route per entry of shared/definitions/routes.ts, keyed routes behind the cached Lambda
 * authorizer, a throttled $default stage with JSON access logs.
 */
export class LeadlogApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;

  constructor(scope: Construct, id: string, props: LeadlogApiProps) {
    super(scope, id);
    const integrations = Object.fromEntries(
      HANDLER_NAMES.map((name) => [name, new HttpLambdaIntegration(`${name}Integration`, props.handlers[name])]),
    ) as Record<HandlerName, HttpLambdaIntegration>;
    // $default: what no route matches reaches the fallback handler, which answers 404 or 405 problem+json.
    this.api = new HttpApi(this, 'HttpApi', { apiName: 'leadlog', createDefaultStage: false, defaultIntegration: integrations[FALLBACK_HANDLER] });
    const defaultRoute = this.api.node.tryFindChild('DefaultRoute');
    if (defaultRoute) {
      Validations.of(defaultRoute).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: 'The catch-all only answers 404/405 problem+json; it reads no data and needs no key.',
      });
    }
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.THREE_MONTHS, encryptionKey: props.logKey });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      // The account's regional quota, not a share of it: orgs are limited one by one (shared/domain/rate-limit.ts).
      throttle: props.throttle ?? API_STAGE_THROTTLE,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
    });
    (this.stage.node.defaultChild as CfnStage).addPropertyOverride('AccessLogSettings.Format', JSON.stringify({
      requestId: '$context.requestId', ip: '$context.identity.sourceIp', requestTime: '$context.requestTime',
      routeKey: '$context.routeKey', status: '$context.status', responseLength: '$context.responseLength',
      latencyMs: '$context.responseLatency', integrationError: '$context.integrationErrorMessage',
      authorizerError: '$context.authorizer.error',
    }));

    // The authorizer authenticates (key → org, scopes); routes enforce scopes in the handler. Cached per
    // Authorization header for AUTHORIZER_CACHE_SECONDS: a revoked key may keep working that long.
    const authorizer = new HttpLambdaAuthorizer('ApiKeyAuthorizer', props.authorizer, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ['$request.header.Authorization'],
      resultsCacheTtl: Duration.seconds(AUTHORIZER_CACHE_SECONDS),
    });
    const throttled: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    for (const route of routes) {
      const [created] = this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: integrations[route.handler],
        ...(route.scope ? { authorizer } : {}),
      });
      if (route.throttle && created) {
        // Route settings name existing routes: the stage waits for them.
        this.stage.node.addDependency(created);
        throttled[routeKey(route)] = { ThrottlingRateLimit: route.throttle.rateLimit, ThrottlingBurstLimit: route.throttle.burstLimit };
      }
      if (!route.scope && created) {
        Validations.of(created).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: 'Public by design: health, the API description and the console page have no key (the page asks for one); webhooks authenticate by the provider signature.',
        });
      }
    }
    (this.stage.node.defaultChild as CfnStage).addPropertyOverride('RouteSettings', throttled);
  }
}
